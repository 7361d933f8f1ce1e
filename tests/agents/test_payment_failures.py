"""A payment the chain refuses leaves the invoice unpaid, the reservation released, and a `failed` decision."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from api.demo import sample_invoices
from finance.decisions import DecisionLog
from finance.models import AttemptStatus, InvoiceStatus, Payment, PaymentAttempt, PaymentStatus
from finance.payments.repository import PaymentRepository
from finance.payments.service import PaymentService
from tests.agents.chain_ops import burn_treasury_down_to

ACME = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"
SAMPLES = dict(sample_invoices())


async def test_revert_on_chain_leaves_invoice_unpaid_with_failed_decision(treasurer, monkeypatch) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    before = await chain.token_balance(token.address, ACME)

    # Too little gas for the transfer: the transaction is mined and reverts (receipt status 0).
    async def starved_gas(*_args) -> int:
        return 22_000  # with the 30% margin, 28,600: below the ~34k a transfer needs

    monkeypatch.setattr(chain, "estimate_transfer_gas", starved_gas)
    invoice_id = await treasurer.submit(SAMPLES["01-acme-hosting.txt"])
    result = await treasurer.process(invoice_id)

    assert result.status == InvoiceStatus.FAILED
    assert "reverted on chain" in result.reason
    assert await chain.token_balance(token.address, ACME) == before
    async with treasurer.sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
        assert payment.status == PaymentStatus.FAILED
        attempt = await session.scalar(select(PaymentAttempt).where(PaymentAttempt.payment_id == payment.id))
        assert attempt.status == AttemptStatus.FAILED and attempt.block_number is not None
        receipt = await chain.receipt(attempt.tx_hash)
        assert receipt.status == 0
        assert await PaymentRepository(session).reserved_units(token.address) == 0
        outcomes = [(d.step, d.outcome) for d in await DecisionLog(session).for_invoice(invoice_id)]
        assert ("pay", "failed") in outcomes and outcomes[-1] == ("record", "failed")


async def test_insufficient_token_balance_is_refused_before_broadcast(treasurer) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    await burn_treasury_down_to(treasurer, Decimal("100"))
    invoice_id = await treasurer.submit(SAMPLES["01-acme-hosting.txt"])
    async with treasurer.sessions() as session:
        from finance.vendors import VendorRepository

        vendor = await VendorRepository(session).by_name("ACME Hosting GmbH")
    service = PaymentService(treasurer.sessions, chain, token)
    payment_id = await service.reserve(
        invoice_id=invoice_id, vendor_id=vendor.id, amount_units=1250 * 10**token.decimals, dedupe_key="acme:test"
    )
    outcome = await service.sign(payment_id)

    assert outcome.status == PaymentStatus.FAILED
    assert "refused the transfer" in outcome.reason
    async with treasurer.sessions() as session:
        assert await PaymentRepository(session).attempts(payment_id) == []
        assert await PaymentRepository(session).reserved_units(token.address) == 0
        assert (await DecisionLog(session).latest(invoice_id, "pay")).outcome == "failed"


async def test_a_failed_bill_can_be_paid_by_a_later_submission(treasurer, monkeypatch) -> None:
    chain = treasurer.context.chain
    real = chain.estimate_transfer_gas

    async def starved_gas(*_args) -> int:
        return 22_000

    monkeypatch.setattr(chain, "estimate_transfer_gas", starved_gas)
    failed = await treasurer.process(await treasurer.submit(SAMPLES["01-acme-hosting.txt"]))
    assert failed.status == InvoiceStatus.FAILED

    monkeypatch.setattr(chain, "estimate_transfer_gas", real)
    again = await treasurer.process(await treasurer.submit(SAMPLES["01-acme-hosting.txt"]))
    assert again.status == InvoiceStatus.PAID, again.reason
