"""A payment whose transaction is not mined is replaced (same nonce, fees bumped), and whichever
attempt the chain takes settles it; a reconciler finishes what a crash or a timeout left in flight."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from agents.reconciler import reconcile
from agents.runtime import open_treasurer
from api.demo import sample_invoices
from finance.models import AttemptStatus, InvoiceStatus, Payment, PaymentAttempt, PaymentStatus
from finance.payments.service import _bump
from finance.settings import Settings
from tests.conftest import start_anvil
from tests.fixtures.vendors import register_sample_vendors

ACME = dict(sample_invoices())["01-acme-hosting.txt"]


@pytest.mark.parametrize(("fee", "bumped"), [(8, 9), (1000, 1125), (10**9, 1_125_000_000), (1, 2)])
def test_fee_bump_is_at_least_twelve_and_a_half_percent(fee: int, bumped: int) -> None:
    assert _bump(fee, Decimal("12.5")) == bumped


async def _rpc(treasurer, method: str, *params) -> None:
    response = await treasurer.context.chain.w3.provider.make_request(method, list(params))
    assert "error" not in response, response


async def _attempts(treasurer, invoice_id) -> list[PaymentAttempt]:
    async with treasurer.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
        if payment is None:
            return []
        rows = await session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.payment_id == payment.id).order_by(PaymentAttempt.attempt_no)
        )
        return list(rows)


async def test_stuck_transaction_is_replaced_and_the_replacement_settles(settings: Settings) -> None:
    node = start_anvil()  # its own node: mining is switched off below
    try:
        fast = settings.model_copy(
            update={"chain_rpc_url": node.url, "stuck_after_seconds": 0.3, "receipt_timeout_seconds": 30}
        )
        async with open_treasurer(fast, bootstrap_chain=True) as treasurer:
            await register_sample_vendors(treasurer)
            await _rpc(treasurer, "evm_setAutomine", False)
            invoice_id = await treasurer.submit(ACME)
            processing = asyncio.create_task(treasurer.process(invoice_id))
            for _ in range(200):  # bounded: 10 s
                if len(await _attempts(treasurer, invoice_id)) >= 2:
                    break
                await asyncio.sleep(0.05)
            first, second = (await _attempts(treasurer, invoice_id))[:2]
            assert second.nonce == first.nonce
            assert second.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 1125 // 1000
            assert second.max_fee_per_gas >= first.max_fee_per_gas * 1125 // 1000

            await _rpc(treasurer, "evm_mine")
            result = await asyncio.wait_for(processing, timeout=30)

            assert result.status == InvoiceStatus.PAID, result.reason
            attempts = await _attempts(treasurer, invoice_id)
            mined = [a for a in attempts if a.status == AttemptStatus.MINED]
            assert len(mined) == 1 and result.tx_hash == mined[0].tx_hash
            # On a loaded machine a further bid can be signed just as the block is mined; the node refuses it
            # (nonce used) and it is recorded as failed. Either way it never reached the chain (checked below).
            others = [a for a in attempts if a is not mined[0]]
            assert all(a.status in (AttemptStatus.REPLACED, AttemptStatus.FAILED) for a in others), others
            assert any(a.status == AttemptStatus.REPLACED for a in others)
            # Exactly one transfer reached the chain for this payment.
            receipts = [await treasurer.context.chain.receipt(a.tx_hash) for a in attempts]
            assert sum(r is not None for r in receipts) == 1
    finally:
        node.stop()


async def test_reconciler_finishes_a_payment_left_in_flight(settings: Settings) -> None:
    node = start_anvil()
    try:
        impatient = settings.model_copy(
            update={"chain_rpc_url": node.url, "receipt_timeout_seconds": 0.5, "stuck_after_seconds": 3600}
        )
        async with open_treasurer(impatient, bootstrap_chain=True) as treasurer:
            await register_sample_vendors(treasurer)
            await _rpc(treasurer, "evm_setAutomine", False)
            invoice_id = await treasurer.submit(ACME)
            waiting = await treasurer.process(invoice_id)
            assert waiting.status == InvoiceStatus.PAYING  # sent, not mined: still reserved, not failed

            await _rpc(treasurer, "evm_setAutomine", True)
            await _rpc(treasurer, "evm_mine")
            report = await reconcile(treasurer)

            assert report.examined == 1 and report.outcomes == {"paid": 1}
            assert (await treasurer.result(invoice_id)).status == InvoiceStatus.PAID
            async with treasurer.sessions() as session:
                payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
                assert payment.status == PaymentStatus.CONFIRMED
            assert (await reconcile(treasurer)).examined == 0
    finally:
        node.stop()


async def test_a_nonce_gap_is_filled_and_the_payment_behind_it_goes_through(treasurer) -> None:
    from finance.payments.nonce_gaps import find_nonce_gaps
    from finance.payments.nonces import allocate_nonce

    chain = treasurer.context.chain
    # An attempt that took a nonce and never reached the chain (refused at broadcast, say).
    async with treasurer.sessions.begin() as session:
        lost = await allocate_nonce(
            session, chain_id=chain.chain_id, address=chain.treasury_address, chain_pending=await chain.pending_nonce()
        )
    impatient = treasurer.context.settings.model_copy(update={"receipt_timeout_seconds": 0.5})
    chain.settings = impatient
    invoice_id = await treasurer.submit(ACME)
    stuck = await treasurer.process(invoice_id)
    assert stuck.status == InvoiceStatus.PAYING  # queued behind the missing nonce
    assert await find_nonce_gaps(treasurer.sessions, chain) == [lost]

    report = await reconcile(treasurer)

    assert report.nonce_gaps_filled == [lost]
    assert report.outcomes == {"paid": 1}
    assert await find_nonce_gaps(treasurer.sessions, chain) == []


async def test_concurrent_payments_take_distinct_contiguous_nonces(treasurer) -> None:
    texts = [
        ACME.replace("INV-2024-001", f"INV-2024-5{n:02d}").replace(
            "2024-03-05", (date(2024, 5, 1) + timedelta(weeks=3 * n)).isoformat()
        )
        for n in range(8)
    ]
    invoice_ids = [await treasurer.submit(t) for t in texts]
    results = await asyncio.gather(*(treasurer.process(i) for i in invoice_ids))
    assert [r.status for r in results] == [InvoiceStatus.PAID] * 8
    async with treasurer.sessions() as session:
        nonces = sorted(await session.scalars(select(PaymentAttempt.nonce)))
    assert nonces == list(range(nonces[0], nonces[0] + 8))


async def test_a_payment_queued_behind_a_dead_workers_signed_attempt_unblocks_itself(treasurer) -> None:
    from finance.payments.service import PaymentService
    from finance.vendors import VendorRepository

    chain, token = treasurer.context.chain, treasurer.context.token
    # A worker reserved and signed invoice A, then died before broadcasting: its nonce is held, unsent.
    first = await treasurer.submit(ACME)
    async with treasurer.sessions() as session:
        acme = await VendorRepository(session).by_name("ACME Hosting GmbH")
    service = PaymentService(treasurer.sessions, chain, token)
    payment_a = await service.reserve(invoice_id=first, vendor_id=acme.id, amount_units=10**6, dedupe_key="dead:a")
    assert (await service.sign(payment_a)).status == PaymentStatus.SUBMITTED

    chain.settings = treasurer.context.settings.model_copy(update={"stuck_after_seconds": 0.3})
    later = ACME.replace("INV-2024-001", "INV-2024-900").replace("2024-03-05", "2024-09-09")
    result = await treasurer.process(await treasurer.submit(later))

    assert result.status == InvoiceStatus.PAID, result.reason  # it sent A's stored bytes instead of bidding up
    async with treasurer.sessions() as session:
        attempts = list(await session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.nonce)))
    assert [a.attempt_no for a in attempts] == [1, 1]  # no fee-bumped replacements were needed
    assert await service.confirm(payment_a) is not None
    async with treasurer.sessions() as session:
        assert (await session.get(Payment, payment_a)).status == PaymentStatus.CONFIRMED


async def test_the_scheduled_reconciler_leaves_recently_touched_invoices_to_their_worker(treasurer) -> None:
    from finance.models import Invoice

    invoice_id = await treasurer.submit(ACME)
    async with treasurer.sessions.begin() as session:
        (await session.get(Invoice, invoice_id)).status = InvoiceStatus.PROCESSING  # a live worker has it

    assert (await reconcile(treasurer, idle_seconds=300)).examined == 0
    report = await reconcile(treasurer)  # on demand: everything, now
    assert report.examined == 1 and report.outcomes == {"paid": 1}
