"""extract: read the invoice text into fields and match the vendor. Writes the `extract` decision."""

from __future__ import annotations

import uuid

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.extraction.schemas import InvoiceFields
from agents.state import InvoiceState
from finance.decisions import DecisionLog
from finance.errors import InvalidInvoice
from finance.invoices import InvoiceRepository, dedupe_key
from finance.money import to_base_units
from finance.vendors import VendorRepository


async def extract(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    ctx = runtime.context
    invoice_id = uuid.UUID(state["invoice_id"])
    async with ctx.sessions.begin() as session:
        invoices = InvoiceRepository(session)
        invoice = await invoices.get(invoice_id)
        log = DecisionLog(session)
        if await log.latest(invoice_id, "extract") is not None:
            # A re-run after a crash: what was read and decided then stands.
            return _state(invoice.vendor_id, invoice.total_units, invoice.fields or {})

        fields = ctx.extract(invoice.raw_text)
        problems: list[str] = []
        amount_units = None
        if fields.total is not None:
            try:
                amount_units = to_base_units(fields.total, ctx.token.decimals)
            except InvalidInvoice as exc:
                problems.append(exc.message)
        vendor = await VendorRepository(session).match(fields.vendor) if fields.vendor else None

        stored = fields.model_dump(mode="json")
        key = dedupe_key(vendor.id, fields.invoice_number, invoice.text_sha256) if vendor else None
        stored["dedupe_key"] = key
        await log.append(
            invoice_id=invoice_id,
            step="extract",
            outcome="extracted" if not problems else "unreadable",
            reason=_extraction_summary(fields, vendor is not None, problems),
            details={
                "engine": "offline",
                "fields": {k: v for k, v in stored.items() if k not in ("evidence", "line_items")},
                "vendor_id": vendor.id if vendor else None,
                "problems": problems,
            },
        )
        await invoices.record_extraction(
            invoice,
            fields=stored,
            vendor_id=vendor.id if vendor else None,
            vendor_name=fields.vendor,
            invoice_number=fields.invoice_number,
            currency=fields.currency,
            total_units=amount_units,
        )
        return _state(invoice.vendor_id, amount_units, stored)


def _state(vendor_id: uuid.UUID | None, amount_units: int | None, fields: dict) -> InvoiceState:
    return {
        "vendor_id": str(vendor_id) if vendor_id else None,
        "amount_units": amount_units,
        "dedupe_key": fields.get("dedupe_key"),
    }


def _extraction_summary(fields: InvoiceFields, vendor_matched: bool, problems: list[str]) -> str:
    parts = [
        f"vendor {fields.vendor!r}" + ("" if vendor_matched or not fields.vendor else " (not registered)"),
        f"invoice {fields.invoice_number or 'without number'}",
        f"total {fields.total} {fields.currency or ''}".strip() if fields.total is not None else "no total",
    ]
    return ", ".join(parts) + ("; " + "; ".join(problems) if problems else "")
