"""The whole path over real PostgreSQL and anvil: paid, over the limit, unknown vendor, malformed, duplicate."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from api.demo import sample_invoices
from finance.decisions import DecisionLog
from finance.models import InvoiceStatus, Payment, PaymentAttempt
from tests.agents.chain_ops import burn_treasury_down_to
from tests.fixtures.bills import acme_bill

SAMPLES = dict(sample_invoices())


async def _process(treasurer, name: str):
    invoice_id = await treasurer.submit(SAMPLES[name], submitted_by="test")
    return await treasurer.process(invoice_id)


async def test_invoice_under_the_limit_is_paid_on_chain(treasurer) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    payee = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"  # ACME's registered address
    before = await chain.token_balance(token.address, payee)

    result = await _process(treasurer, "01-acme-hosting.txt")

    assert result.status == InvoiceStatus.PAID, result.reason
    receipt = await chain.receipt(result.tx_hash)
    assert receipt.status == 1
    assert await chain.token_balance(token.address, payee) - before == 1250 * 10**token.decimals
    async with treasurer.sessions() as session:
        steps = [(d.step, d.outcome) for d in await DecisionLog(session).for_invoice(result.invoice_id)]
        assert steps == [
            ("extract", "extracted"),
            ("evaluate", "allow"),
            ("pay", "authorized"),
            ("pay", "confirmed"),
            ("record", "paid"),
        ]
        assert (await DecisionLog(session).verify()).ok


async def test_processing_again_never_pays_twice(treasurer) -> None:
    first = await _process(treasurer, "02-northwind.txt")
    assert first.status == InvoiceStatus.PAID, first.reason
    again = await treasurer.process(first.invoice_id)
    assert again.status == InvoiceStatus.PAID and again.tx_hash == first.tx_hash
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1
        assert await session.scalar(select(func.count()).select_from(PaymentAttempt)) == 1


async def test_resubmitted_bill_is_blocked_as_duplicate(treasurer) -> None:
    paid = await _process(treasurer, "01-acme-hosting.txt")
    assert paid.status == InvoiceStatus.PAID
    copy = await _process(treasurer, "06-acme-resubmitted.txt")  # "INV 2024 001" is "INV-2024-001"
    assert copy.status == InvoiceStatus.BLOCKED
    assert "duplicate" in copy.reason


async def test_over_the_limit_waits_for_approval(treasurer) -> None:
    result = await _process(treasurer, "03-globex-over-limit.txt")
    assert result.status == InvoiceStatus.PENDING_APPROVAL
    assert "over the per-invoice limit" in result.reason
    assert result.tx_hash is None


async def test_unknown_vendor_is_blocked(treasurer) -> None:
    result = await _process(treasurer, "04-unknown-vendor.txt")
    assert result.status == InvoiceStatus.BLOCKED
    assert "not in the registry" in result.reason


async def test_malformed_invoice_is_blocked_with_reason(treasurer) -> None:
    result = await _process(treasurer, "05-malformed.txt")
    assert result.status == InvoiceStatus.BLOCKED
    assert "no payable amount" in result.reason


async def test_amount_beyond_the_treasury_is_blocked_before_signing(treasurer) -> None:
    text = acme_bill("4999.00", number="INV-2024-999")
    await burn_treasury_down_to(treasurer, Decimal("100"))
    invoice_id = await treasurer.submit(text)
    result = await treasurer.process(invoice_id)
    assert result.status == InvoiceStatus.BLOCKED
    assert "exceeds the spendable balance" in result.reason
