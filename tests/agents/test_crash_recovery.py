"""Crash recovery: a worker SIGKILLed at each step boundary of a payment, then recovery on restart.

For every kill point the test runs a few rounds. Each round submits fresh invoices (ACME and
Northwind samples with distinct numbers, dates and amounts, so none is a duplicate or a possible
duplicate), starts `tests.harness.crashing_worker` as a child process that dies by SIGKILL at the
chosen boundary of one of them, checks the state the crash left behind, runs recovery in this
process, and then checks against the real anvil chain and PostgreSQL that:

1. every invoice was paid exactly once on chain (the token's Transfer logs from the treasury);
2. the ledger equals the chain (confirmed payments == what left the treasury wallet);
3. nothing leaked (no payment pending or submitted, no invoice unfinished, nothing reserved);
4. the decision log's hash chain verifies.

Recovery is what a restarted worker does: `agents.reconciler.reconcile(treasurer)` (when that module
exists) for the work the dead worker left in progress, then the invoices it never started, as its queue
redelivers them (`treasurer.process` for each still unfinished, oldest first).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_utils import keccak
from sqlalchemy import select

from api.demo import sample_invoices, sample_vendors
from finance.decisions import DecisionLog
from finance.models import AttemptStatus, Invoice, InvoiceStatus, Payment, PaymentAttempt, PaymentStatus
from finance.money import to_base_units
from finance.payments.repository import PaymentRepository
from finance.settings import Settings
from tests.harness.crashing_worker import KILL_POINTS
from tests.harness.environment import child_env

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = dict(sample_invoices())
PAYOUT = {v["name"]: v["payout_address"] for v in sample_vendors()}
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()

INVOICES_PER_ROUND = 3
# One round per entry: which invoice of the round (1-based) the child dies on. The first leaves two
# untouched invoices behind the crashed one (nonces allocated after a hole); the second has a paid one
# before it and an untouched one after it.
KILL_ON_PER_ROUND = (1, 2)
CHILD_TIMEOUT_SECONDS = 90
RECOVERY_TIMEOUT_SECONDS = 120

_UNFINISHED_INVOICE = (InvoiceStatus.RECEIVED, InvoiceStatus.PROCESSING, InvoiceStatus.PAYING)
_IN_FLIGHT_PAYMENT = (PaymentStatus.PENDING, PaymentStatus.SUBMITTED)


@dataclass(frozen=True)
class Bill:
    invoice_id: uuid.UUID
    label: str
    payee: str
    amount_units: int


def _bill_text(n: int) -> tuple[str, str, Decimal]:
    """The n-th bill of a test: ACME and Northwind in turn, each with its own number, date and amount."""
    issued = date(2024, 2, 1) + timedelta(days=n)  # before both samples' due dates
    cents = Decimal(n + 1) / 100  # a distinct amount per bill: every Transfer maps to one invoice
    if n % 2 == 0:
        amount = Decimal("1250.00") + cents
        text = (
            SAMPLES["01-acme-hosting.txt"]
            .replace("INV-2024-001", f"INV-CR-{n:04d}")
            .replace("2024-03-05", issued.isoformat())
            # The line item moves with the total, so the bill still adds up.
            .replace("250.00      250.00", f"{250 + cents:.2f}      {250 + cents:.2f}")
            .replace("USD 1,250.00", f"USD {amount:,.2f}")
        )
        return text, "ACME Hosting GmbH", amount
    amount = Decimal("980.50") + cents
    text = (
        SAMPLES["02-northwind.txt"]
        .replace("NW-778", f"NW-CR-{n:04d}")
        .replace("12 March 2024", f"{issued.day} {issued:%B %Y}")
        .replace("$980.50", f"${amount:,.2f}")
    )
    return text, "Northwind Traders Ltd", amount


def _child_env(settings: Settings) -> dict[str, str]:
    return child_env(settings)


async def _run_crashing_child(settings: Settings, kill_at: str, kill_on: int, ids: list[uuid.UUID]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.harness.crashing_worker",
        "--kill-at",
        kill_at,
        "--kill-on",
        str(kill_on),
        *(str(i) for i in ids),
        cwd=REPO_ROOT,
        env=_child_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), CHILD_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"crashing worker ({kill_at} #{kill_on}) still running after {CHILD_TIMEOUT_SECONDS}s; killed")
    output = out.decode(errors="replace")
    assert process.returncode == -signal.SIGKILL, (
        f"crashing worker ({kill_at} #{kill_on}) should have died by SIGKILL (-9), "
        f"exited {process.returncode}; its output:\n{output}"
    )
    assert f"SIGKILL at {kill_at}:" in output, f"child died by SIGKILL but not at {kill_at}; output:\n{output}"
    return output


async def _recover(treasurer, round_ids: list[uuid.UUID]) -> str:
    """The restart: what a fresh worker does before and after it reads its queue.

    First the reconciler (when it exists yet) drives whatever the dead worker left in progress; then
    the invoices the dead worker never started are processed, as the queue delivers them again (an
    unacknowledged entry): the reconciler leaves `received` invoices to the queue. Without the
    reconciler, `treasurer.process` for every unfinished invoice of the round, oldest first, does both
    (earlier rounds were already checked finished).
    """
    how = []
    try:
        from agents.reconciler import reconcile
    except ModuleNotFoundError as exc:
        if exc.name != "agents.reconciler":
            raise
        redeliver = _UNFINISHED_INVOICE
    else:
        report = await asyncio.wait_for(reconcile(treasurer), RECOVERY_TIMEOUT_SECONDS)
        errors = getattr(report, "errors", None)
        assert not errors, f"the reconciler failed on some invoices: {errors}"
        how.append("agents.reconciler.reconcile")
        # Only what the queue owns: anything in progress that the reconciler left unfinished must show
        # up as a failure below, not be quietly finished here.
        redeliver = (InvoiceStatus.RECEIVED,)

    async def process_redelivered() -> None:
        async with treasurer.sessions() as session:
            ids = list(
                await session.scalars(
                    select(Invoice.id)
                    .where(Invoice.id.in_(round_ids), Invoice.status.in_(redeliver))
                    .order_by(Invoice.created_at)
                )
            )
        for invoice_id in ids:
            await treasurer.process(invoice_id)

    await asyncio.wait_for(process_redelivered(), RECOVERY_TIMEOUT_SECONDS)
    how.append(f"treasurer.process for the round's invoices in {', '.join(s.value for s in redeliver)}")
    return ", then ".join(how)


async def _assert_crash_left(treasurer, kill_at: str, kill_on: int, bills: list[Bill], output: str) -> None:
    """What the SIGKILL left behind is what the kill point claims: proves the harness cut where it says."""
    victim = bills[kill_on - 1]
    chain = treasurer.context.chain
    async with treasurer.sessions() as session:
        statuses = {b.invoice_id: (await session.get(Invoice, b.invoice_id)).status for b in bills}
        payment = await PaymentRepository(session).for_invoice(victim.invoice_id)
        attempts = await PaymentRepository(session).attempts(payment.id) if payment else []
    where = f"after the crash at {kill_at} on invoice {kill_on} ({victim.label}); child output:\n{output}"
    for before in bills[: kill_on - 1]:
        assert statuses[before.invoice_id] == InvoiceStatus.PAID, f"{before.label} should be paid {where}"
    for after in bills[kill_on:]:
        assert statuses[after.invoice_id] == InvoiceStatus.RECEIVED, f"{after.label} should be untouched {where}"
    assert payment is not None, f"no payment row {where}"
    assert statuses[victim.invoice_id] == InvoiceStatus.PROCESSING, f"{victim.label} should be in processing {where}"
    expected = {
        "reserve": (PaymentStatus.PENDING, []),
        "sign": (PaymentStatus.SUBMITTED, [AttemptStatus.SIGNED]),
        "broadcast": (PaymentStatus.SUBMITTED, [AttemptStatus.BROADCAST]),
        "confirm": (PaymentStatus.CONFIRMED, [AttemptStatus.MINED]),
        "record": (PaymentStatus.CONFIRMED, [AttemptStatus.MINED]),
    }[kill_at]
    assert (payment.status, [a.status for a in attempts]) == expected, (
        f"payment {payment.status} with attempts {[a.status for a in attempts]}, expected {expected} {where}"
    )
    if kill_at == "sign":
        # Stored, never sent: the node has never heard of it.
        known = await chain.w3.provider.make_request("eth_getTransactionByHash", [attempts[0].tx_hash])
        assert known.get("result") is None, f"the signed transaction reached the node before the crash {where}"
    if kill_at == "broadcast":
        assert await chain.receipt(attempts[0].tx_hash) is not None, f"the broadcast transaction is not mined {where}"


async def _treasury_transfers(treasurer) -> Counter[tuple[str, int]]:
    """(payee, amount) of every token Transfer out of the treasury, over the whole chain."""
    chain, token = treasurer.context.chain, treasurer.context.token
    treasury_topic = "0x" + "00" * 12 + chain.treasury_address.lower().removeprefix("0x")
    logs = await chain.w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": token.address, "topics": [TRANSFER_TOPIC, treasury_topic]}
    )
    transfers: Counter[tuple[str, int]] = Counter()
    for log in logs:
        payee = chain.w3.to_checksum_address("0x" + bytes(log["topics"][2])[-20:].hex())
        transfers[(payee, int.from_bytes(bytes(log["data"]), "big"))] += 1
    return transfers


async def _assert_recovered(treasurer, bills: list[Bill], balance_before: int, context: str) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    async with treasurer.sessions() as session:
        for bill in bills:
            invoice = await session.get(Invoice, bill.invoice_id)
            assert invoice.status == InvoiceStatus.PAID, (
                f"{context}: {bill.label} ended {invoice.status} ({invoice.reason}), expected paid"
            )

        # 1. Exactly once on chain: one Transfer per bill, never two, nothing else out of the wallet.
        on_chain = await _treasury_transfers(treasurer)
        expected = Counter((b.payee, b.amount_units) for b in bills)
        twice = {key: n for key, n in on_chain.items() if n > 1}
        assert not twice, f"{context}: paid more than once on chain (payee, amount): count {twice}"
        missing = expected - on_chain
        assert not missing, f"{context}: bills with no Transfer on chain: {dict(missing)}"
        extra = on_chain - expected
        assert not extra, f"{context}: Transfers out of the treasury that match no bill: {dict(extra)}"

        # 2. The ledger equals the chain.
        payments = list(await session.scalars(select(Payment)))
        confirmed = [p for p in payments if p.status == PaymentStatus.CONFIRMED]
        left_wallet = balance_before - await chain.token_balance(token.address, chain.treasury_address)
        ledger = sum(p.amount_units for p in confirmed)
        assert ledger == left_wallet, (
            f"{context}: confirmed payments total {ledger} base units, the treasury lost {left_wallet} on chain"
        )
        assert len(confirmed) == len(bills), f"{context}: {len(confirmed)} confirmed payments for {len(bills)} bills"
        mined = set(
            await session.scalars(select(PaymentAttempt.tx_hash).where(PaymentAttempt.status == AttemptStatus.MINED))
        )
        assert {p.tx_hash for p in confirmed} <= mined, f"{context}: a confirmed payment's tx is not a mined attempt"

        # 3. No reservation leaks.
        in_flight = [(p.invoice_id, p.status) for p in payments if p.status in _IN_FLIGHT_PAYMENT]
        assert not in_flight, f"{context}: payments left in flight: {in_flight}"
        unfinished = list(
            await session.execute(select(Invoice.id, Invoice.status).where(Invoice.status.in_(_UNFINISHED_INVOICE)))
        )
        assert not unfinished, f"{context}: invoices left unfinished: {unfinished}"
        reserved = await PaymentRepository(session).reserved_units(token.address)
        assert reserved == 0, f"{context}: {reserved} base units still reserved"

        # Recovery re-ran steps; none of them may have decided twice.
        for bill in bills:
            steps = Counter((d.step, d.outcome) for d in await DecisionLog(session).for_invoice(bill.invoice_id))
            for step in (("pay", "authorized"), ("pay", "confirmed")):
                assert steps[step] == 1, f"{context}: {bill.label} has {steps[step]} {step} decisions, expected 1"
            assert steps[("pay", "failed")] == 0, f"{context}: {bill.label} has a failed payment decision"

        # 4. The decision log verifies.
        verification = await DecisionLog(session).verify()
        assert verification.ok, f"{context}: decision log does not verify: {verification}"


@pytest.mark.parametrize("kill_at", KILL_POINTS)
async def test_sigkill_at_each_step_boundary_recovers_exactly_once(treasurer, settings: Settings, kill_at: str) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    # A fresh wallet per test: its balance right after bootstrap is the baseline every payment comes out of.
    balance_before = await chain.token_balance(token.address, chain.treasury_address)
    bills: list[Bill] = []

    for round_no, kill_on in enumerate(KILL_ON_PER_ROUND):
        round_bills = []
        for _ in range(INVOICES_PER_ROUND):
            n = len(bills) + len(round_bills)
            text, vendor, amount = _bill_text(n)
            invoice_id = await treasurer.submit(text, submitted_by="crash-test")
            label = f"bill {n} ({vendor}, {amount}, invoice {invoice_id})"
            round_bills.append(Bill(invoice_id, label, PAYOUT[vendor], to_base_units(amount, token.decimals)))
        context = f"kill at {kill_at}, round {round_no} (dies on invoice {kill_on} of {INVOICES_PER_ROUND})"

        output = await _run_crashing_child(settings, kill_at, kill_on, [b.invoice_id for b in round_bills])
        await _assert_crash_left(treasurer, kill_at, kill_on, round_bills, output)

        how = await _recover(treasurer, [b.invoice_id for b in round_bills])
        bills.extend(round_bills)
        await _assert_recovered(treasurer, bills, balance_before, f"{context}, recovered by {how}")
