"""A treasurer worker that kills itself with SIGKILL at a chosen step boundary.

    python -m tests.harness.crashing_worker --kill-at sign --kill-on 2 INVOICE_ID [INVOICE_ID ...]

Run as a child process by tests/agents/test_crash_recovery.py. Settings come from the environment
(TREASURER_*, as in finance/settings.py), so the child shares the test's database, chain and wallet.
It processes the invoices one after another, in the order given, and dies at the `--kill-on`-th
time the `--kill-at` boundary is reached:

    reserve    after PaymentService.reserve returned: the payment intent is committed
    sign       after PaymentService.sign returned: the signed attempt is stored, nothing sent
    broadcast  after PaymentService.broadcast returned: sent (mined, on automining anvil), not confirmed
    confirm    after PaymentService.confirm returned: settled in the payment row, invoice not recorded
    record     when the graph enters its record node, before it writes anything

SIGKILL, not an exception or sys.exit: no `finally`, no context-manager exit, no connection close
runs, exactly as when the machine loses power or the OOM killer strikes. The hooks are monkeypatched
here, in the child only, so production code carries no test hooks.

Exit status: killed by SIGKILL (-9 to the parent) when the kill point was reached; 3 when every
invoice was processed without reaching it (a harness mistake the test reports).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import sys
import uuid

from agents import graph as graph_module
from agents.runtime import open_treasurer
from finance.payments.service import PaymentService
from finance.settings import Settings

PAYMENT_STEPS = ("reserve", "sign", "broadcast", "confirm")
KILL_POINTS = (*PAYMENT_STEPS, "record")
NOT_REACHED = 3


def _die(point: str, detail: str) -> None:
    # The parent reads this line to say where the child died; flushed because SIGKILL drops buffers.
    print(f"SIGKILL at {point}: {detail}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_point(point: str, kill_on: int) -> None:
    """Patch the boundary so that its `kill_on`-th crossing kills this process."""
    calls = 0

    def crossed(detail: str) -> None:
        nonlocal calls
        calls += 1
        if calls == kill_on:
            _die(point, detail)

    if point in PAYMENT_STEPS:
        original = getattr(PaymentService, point)

        # Patched on the class: the payment tools call `service.<step>` at call time, so the
        # instance open_treasurer builds later picks the wrapper up.
        @functools.wraps(original)
        async def after_step(self: PaymentService, *args, **kwargs):
            result = await original(self, *args, **kwargs)
            crossed(f"{point} returned {result!r}")
            return result

        setattr(PaymentService, point, after_step)
        return

    original_record = graph_module.record

    # build_treasurer_graph reads the module global `record` when open_treasurer compiles the graph,
    # so this must be in place before the treasurer is opened.
    @functools.wraps(original_record)
    async def before_record(state, runtime):
        crossed(f"record of invoice {state.get('invoice_id')} (outcome {state.get('outcome')!r})")
        return await original_record(state, runtime)

    graph_module.record = before_record


async def run(invoice_ids: list[uuid.UUID]) -> None:
    # _env_file=None: only what the parent put in the environment counts, never a developer's .env.
    settings = Settings(_env_file=None)
    async with open_treasurer(settings) as treasurer:
        for invoice_id in invoice_ids:
            result = await treasurer.process(invoice_id)
            print(f"processed {invoice_id}: {result.status.value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-at", choices=KILL_POINTS, required=True)
    parser.add_argument("--kill-on", type=int, default=1, help="die at the n-th crossing of the boundary (1-based)")
    parser.add_argument("invoice_ids", nargs="+", type=uuid.UUID)
    args = parser.parse_args(argv)
    if args.kill_on < 1:
        parser.error("--kill-on counts from 1")

    install_kill_point(args.kill_at, args.kill_on)
    asyncio.run(run(args.invoice_ids))
    print(f"kill point {args.kill_at} #{args.kill_on} never reached", file=sys.stderr, flush=True)
    return NOT_REACHED


if __name__ == "__main__":
    sys.exit(main())
