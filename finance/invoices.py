"""Invoices as received and as understood. The raw text is kept verbatim: it is the evidence."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from finance.errors import InvalidInvoice, NotFound
from finance.identity import Actor
from finance.models import Invoice, InvoiceStatus

# The largest invoice text stored, hence the most any extractor is ever given: every way in (JSON, upload,
# web form, worker) goes through `create`. 1 MB is some 200 pages of text; the offline rules read it in seconds.
MAX_INVOICE_TEXT_BYTES = 1_000_000


class InvoiceTooLong(InvalidInvoice):
    code = "invoice_too_long"


def check_invoice_text_size(raw_text: str) -> None:
    size = len(raw_text.encode("utf-8", "surrogatepass"))
    if size > MAX_INVOICE_TEXT_BYTES:
        raise InvoiceTooLong(
            f"the invoice text is {size} bytes; the limit is {MAX_INVOICE_TEXT_BYTES} bytes (1 MB). "
            "Send the invoice itself, not a bundle of documents"
        )


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        raw_text: str,
        submitted_by: Actor | None = None,
        *,
        document: bytes | None = None,
        document_type: str | None = None,
        text_source: str = "text",
        ocr_doubtful_spans: list[list[int]] | None = None,
    ) -> Invoice:
        check_invoice_text_size(raw_text)
        invoice = Invoice(
            raw_text=raw_text,
            text_sha256=hashlib.sha256(raw_text.encode()).hexdigest(),
            status=InvoiceStatus.RECEIVED,
            submitted_by=submitted_by.name if submitted_by else None,
            submitted_by_user_id=submitted_by.user_id if submitted_by else None,
            document=document,
            document_type=document_type,
            text_source=text_source,
            ocr_doubtful_spans=ocr_doubtful_spans,
        )
        self.session.add(invoice)
        await self.session.flush()
        return invoice

    async def get(self, invoice_id: uuid.UUID) -> Invoice:
        invoice = await self.session.get(Invoice, invoice_id)
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}")
        return invoice

    async def record_extraction(
        self,
        invoice: Invoice,
        *,
        fields: dict[str, Any],
        vendor_id: uuid.UUID | None,
        vendor_name: str | None,
        invoice_number: str | None,
        currency: str | None,
        total_units: int | None,
    ) -> None:
        invoice.fields = fields
        invoice.vendor_id = vendor_id
        invoice.vendor_name = vendor_name
        invoice.invoice_number = invoice_number
        invoice.currency = currency
        invoice.total_units = total_units
        invoice.status = InvoiceStatus.PROCESSING

    @staticmethod
    def set_status(invoice: Invoice, status: InvoiceStatus, reason: str | None) -> None:
        invoice.status = status
        invoice.reason = reason


def normalize_invoice_number(number: str) -> str:
    """`INV-001`, `INV001` and `inv 001` are one bill: compare letters and digits only, upper-cased."""
    return "".join(ch for ch in number.upper() if ch.isalnum())


def dedupe_key(vendor_id: uuid.UUID, invoice_number: str | None, text_sha256: str) -> str:
    # Without a number, only a byte-identical resubmission can be recognised as the same bill.
    if invoice_number and normalize_invoice_number(invoice_number):
        return f"{vendor_id}:no:{normalize_invoice_number(invoice_number)}"
    return f"{vendor_id}:sha256:{text_sha256}"
