"""Benchmark: confirmed payments per second through the payment SAGA (reserve -> sign -> broadcast ->
confirm, through `PaymentService`) on anvil + PostgreSQL, with 1 and with 4 concurrent workers, beside
raw signed ERC-20 transfers per second in the same run, and median gas per payment beside a bare transfer.

    python bench/payments.py [--payments 200] [--workers 1 4]

The invoices are stored before the clock starts and are never extracted or evaluated: this measures
what the exactly-once bookkeeping (intent, nonce under a row lock, signed attempt stored before it is
sent, receipt checked against the Transfer event) costs on top of the chain itself. Workers are asyncio
tasks sharing one treasurer, which is what the code supports today.

Needs PostgreSQL (TREASURER_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test) and the
anvil binary (`make anvil`). It starts its own anvil and databases and removes them after; every phase
gets a fresh database and a fresh wallet, so no phase inherits another's nonces or rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import event, func, select
from web3 import AsyncHTTPProvider

from agents.runtime import open_treasurer
from bench.spine import PAYEE, PG_ADMIN_URL, _amount_units, bench_database, bench_settings, raw_transfers
from finance.chain.anvil import start_anvil
from finance.invoices import InvoiceRepository
from finance.models import AttemptStatus, Payment, PaymentAttempt, PaymentStatus
from finance.payments.repository import PaymentRepository
from finance.payments.service import PaymentService
from finance.settings import Settings
from tests.fixtures.vendors import register_verified_vendor

STEPS = ("reserve", "sign", "broadcast", "confirm")


@dataclass(frozen=True)
class SagaRun:
    rate: float
    median_gas: int
    attempts: int
    step_ms: dict[str, float]  # median milliseconds per step
    per_payment: dict[str, float]  # round trips per payment: SQL statements, commits, pool checkouts, RPCs
    cpu_ms: float  # this process's CPU per payment


@contextmanager
def counting_rpc(counts: Counter) -> Iterator[None]:
    """Count JSON-RPC requests to the node. Patched on the class before the client exists, because web3
    caches the provider's bound `make_request` in its middleware chain at the first request."""
    original = AsyncHTTPProvider.make_request

    async def make_request(self, method, params):
        counts["rpc"] += 1
        return await original(self, method, params)

    AsyncHTTPProvider.make_request = make_request
    try:
        yield
    finally:
        AsyncHTTPProvider.make_request = original


def count_sql(engine, counts: Counter) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _statement(*_args) -> None:
        counts["sql"] += 1

    @event.listens_for(sync_engine, "commit")
    def _commit(*_args) -> None:
        counts["commits"] += 1

    @event.listens_for(sync_engine.pool, "checkout")
    def _checkout(*_args) -> None:
        counts["checkouts"] += 1


async def saga(settings: Settings, payments: int, workers: int) -> SagaRun:
    counts: Counter = Counter()
    with counting_rpc(counts):
        return await _saga(settings, payments, workers, counts)


async def _saga(settings: Settings, payments: int, workers: int, counts: Counter) -> SagaRun:
    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
        chain, token = treasurer.context.chain, treasurer.context.token
        count_sql(treasurer.engine, counts)
        async with treasurer.sessions.begin() as session:
            vendor = await register_verified_vendor(session, "ACME Hosting GmbH", PAYEE)
            vendor_id = vendor.id
            invoices = InvoiceRepository(session)
            # Stored, never processed: extraction and policy are not what this measures.
            invoice_ids = [(await invoices.create(f"BENCH-PAY-{n:06d}", "bench")).id for n in range(payments)]
        balance_before = await chain.token_balance(token.address, chain.treasury_address)

        service = PaymentService(treasurer.sessions, chain, token)
        counter = iter(range(payments))
        timings: dict[str, list[float]] = defaultdict(list)
        statuses: list[PaymentStatus] = []

        async def timed(step: str, call):
            started = time.perf_counter()
            result = await call
            timings[step].append(time.perf_counter() - started)
            return result

        async def worker() -> None:
            for n in counter:
                # The same amounts as the raw transfers, so gas compares like for like.
                payment_id = await timed(
                    "reserve",
                    service.reserve(
                        invoice_id=invoice_ids[n],
                        vendor_id=vendor_id,
                        amount_units=_amount_units(n, token.decimals),
                        dedupe_key=f"bench:{n}",
                    ),
                )
                # The pay node's order: each step runs only while the payment is still in flight.
                outcome = await timed("sign", service.sign(payment_id))
                if outcome.status == PaymentStatus.SUBMITTED:
                    outcome = await timed("broadcast", service.broadcast(payment_id))
                if outcome.status == PaymentStatus.SUBMITTED:
                    outcome = await timed("confirm", service.confirm(payment_id))
                statuses.append(outcome.status)

        counts.clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - started
        # This process's own CPU: what the SAGA costs in Python, apart from PostgreSQL and anvil.
        cpu_ms = 1000 * (time.process_time() - cpu_started) / payments
        per_payment = {k: counts[k] / payments for k in ("sql", "commits", "checkouts", "rpc")}

        confirmed = sum(1 for s in statuses if s == PaymentStatus.CONFIRMED)
        if confirmed != payments:
            raise SystemExit(f"only {confirmed}/{payments} payments confirmed: {set(statuses)}")
        async with treasurer.sessions() as session:
            gas = list(
                await session.scalars(
                    select(PaymentAttempt.gas_used).where(PaymentAttempt.status == AttemptStatus.MINED)
                )
            )
            attempts = await session.scalar(select(func.count()).select_from(PaymentAttempt))
            ledger = sum(await session.scalars(select(Payment.amount_units)))
            reserved = await PaymentRepository(session).reserved_units(token.address)
        # A fast run that settled wrongly is no result: the ledger must equal what left the wallet.
        spent = balance_before - await chain.token_balance(token.address, chain.treasury_address)
        if ledger != spent or reserved != 0:
            raise SystemExit(f"ledger {ledger} != chain {spent} or {reserved} still reserved")
    return SagaRun(
        rate=payments / elapsed,
        median_gas=int(median(gas)),
        attempts=attempts,
        step_ms={step: 1000 * median(timings[step]) for step in STEPS},
        per_payment=per_payment,
        cpu_ms=cpu_ms,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    node = start_anvil()
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    databases: list[str] = []

    async def fresh_settings() -> Settings:
        name, url = await bench_database(admin)
        databases.append(name)
        return bench_settings(url, node.url)

    raw: dict[int, tuple[float, int]] = {}
    raw_rpc: dict[int, float] = {}
    runs: dict[int, SagaRun] = {}
    try:
        for workers in args.workers:
            # Raw and SAGA back to back at each concurrency, so both see the same chain length and load.
            raw_counts: Counter = Counter()
            raw_settings = await fresh_settings()
            with counting_rpc(raw_counts):
                # Counted from the first transfer's signature on would be exact; bootstrap and the gas
                # estimate add a handful of requests, negligible over a run.
                raw[workers] = await raw_transfers(raw_settings, args.payments, workers)
            raw_rpc[workers] = raw_counts["rpc"] / args.payments
            runs[workers] = await saga(await fresh_settings(), args.payments, workers)
    finally:
        node.stop()
        for name in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    print(f"payment SAGA benchmark: {args.payments} payments per run, anvil automine + PostgreSQL")
    for workers in args.workers:
        raw_rate, raw_gas = raw[workers]
        run = runs[workers]
        print(f"  {workers} worker(s):")
        print(f"    raw signed transfers (lean JSON-RPC):    {raw_rate:8.1f} /s   median gas per transfer {raw_gas}")
        print(
            f"    confirmed payments through the SAGA:     {run.rate:8.1f} /s   median gas per payment  "
            f"{run.median_gas}   ({run.attempts} attempts)"
        )
        print(f"    ratio SAGA / raw:                        {run.rate / raw_rate:8.2f}   (target >= 0.70)")
        print(f"    ratio gas SAGA / raw:                    {run.median_gas / raw_gas:8.2f}   (target 1.00)")
        print(
            "    median ms per step:                      "
            + "  ".join(f"{s} {run.step_ms[s]:.1f}" for s in STEPS)
            + f"   (Python CPU {run.cpu_ms:.1f} ms per payment)"
        )
        rt = run.per_payment
        print(
            f"    round trips per payment:                 {rt['sql']:.1f} SQL statements, "
            f"{rt['commits']:.1f} commits, {rt['checkouts']:.1f} pool checkouts, "
            f"{rt['rpc']:.1f} JSON-RPC (raw: {raw_rpc[workers]:.1f})"
        )
    if len(args.workers) > 1:
        low, high = min(args.workers), max(args.workers)
        print(
            f"  scaling {low} -> {high} workers: raw x{raw[high][0] / raw[low][0]:.2f}, "
            f"SAGA x{runs[high].rate / runs[low].rate:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
