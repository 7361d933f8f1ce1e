"""Payee changes and duplicates decided on the whole path (PostgreSQL + anvil)."""

from __future__ import annotations

from api.demo import sample_invoices
from finance.models import InvoiceStatus

ACME = dict(sample_invoices())["01-acme-hosting.txt"]
STRANGER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


async def _process(treasurer, text: str):
    return await treasurer.process(await treasurer.submit(text))


async def test_invoice_asking_for_another_address_waits_for_approval(treasurer) -> None:
    text = ACME.replace("Total: USD 1,250.00", f"Total: USD 1,250.00\nPlease pay to our new wallet: {STRANGER}")
    result = await _process(treasurer, text)
    assert result.status == InvoiceStatus.PENDING_APPROVAL, result.reason
    assert "not the registered" in result.reason and result.tx_hash is None


async def test_same_amount_and_date_under_another_number_waits_for_approval(treasurer) -> None:
    assert (await _process(treasurer, ACME)).status == InvoiceStatus.PAID
    result = await _process(treasurer, ACME.replace("INV-2024-001", "INV-2024-002"))
    assert result.status == InvoiceStatus.PENDING_APPROVAL
    assert "same vendor, amount and date" in result.reason


async def test_a_blocked_bill_can_be_resubmitted_corrected(treasurer) -> None:
    in_euro = ACME.replace("Total: USD 1,250.00", "Total: EUR 1,250.00")
    blocked = await _process(treasurer, in_euro)
    assert blocked.status == InvoiceStatus.BLOCKED and "EUR" in blocked.reason
    corrected = await _process(treasurer, ACME)
    assert corrected.status == InvoiceStatus.PAID, corrected.reason
