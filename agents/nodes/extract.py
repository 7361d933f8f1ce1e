"""extract: read the invoice into fields, identify the vendor, and check the bill against the registry
(payee change) and against earlier bills (duplicates). Writes the `extract` decision.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from langgraph.runtime import Runtime
from sqlalchemy import select

from agents.context import TreasurerContext
from agents.extraction.accounts import PayoutScan, scan_payout_identifiers
from agents.extraction.ocr_confidence import uncertain_fields
from agents.extraction.service import ExtractionResult
from agents.extraction.uploads import TextSource
from agents.state import InvoiceState
from finance.claims import BillLine, bill_keys, claim_bill
from finance.decisions import DecisionLog
from finance.errors import InvalidInvoice
from finance.invoices import InvoiceRepository, dedupe_key
from finance.models import Invoice
from finance.money import to_base_units
from finance.vendors import VendorRepository, payee_change

_THREAD_ABOVE_CHARS = 20_000


async def extract(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    ctx = runtime.context
    invoice_id = uuid.UUID(state["invoice_id"])
    async with ctx.sessions() as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        if await DecisionLog(session).latest(invoice_id, "extract") is not None:
            # A re-run after a crash: what was read and decided then stands.
            return _state(invoice.vendor_id, invoice.total_units, invoice.fields or {})
        raw_text, text_source = invoice.raw_text, invoice.text_source
        doubtful = invoice.ocr_doubtful_spans
        # The original is a deferred column, loaded only for an e-invoice, whose XML is read again as exact values.
        document = (
            await session.scalar(select(Invoice.document).where(Invoice.id == invoice_id))
            if text_source == TextSource.EINVOICE
            else None
        )

    # Outside any transaction: an LLM call can take seconds and must not hold a connection or a lock.
    result = await ctx.extractor.extract(raw_text, text_source=text_source, document=document)
    if text_source == TextSource.OCR:
        # OCR text is a reading of the document, not the document: a value read off a doubtful word goes to a human.
        result = result.with_flags(uncertain_fields(result.fields, doubtful or []))
    payout = await _scan_payout(raw_text)

    async with ctx.sessions.begin() as session:
        invoices = InvoiceRepository(session)
        invoice = await invoices.get(invoice_id)
        log = DecisionLog(session)
        if await log.latest(invoice_id, "extract") is not None:
            return _state(invoice.vendor_id, invoice.total_units, invoice.fields or {})
        fields = result.fields
        problems: list[str] = []
        amount_units = None
        if fields.total is not None:
            try:
                amount_units = to_base_units(fields.total, ctx.token.decimals)
            except InvalidInvoice as exc:
                problems.append(exc.message)
        match = await VendorRepository(session).identify(
            vendor_name=fields.vendor, payee_account=fields.payee_account, text=raw_text
        )
        vendor = match.vendor
        # A doubt about who issued the bill (a look-alike name, a vendor's tax id on another issuer's page) is
        # an extraction flag: the invoice goes to a person, with the doubt as the reason.
        checks: dict[str, Any] = {"flags": [*result.flags, *([f"vendor_match: {match.doubt}"] if match.doubt else [])]}
        if vendor is not None:
            keys = bill_keys(
                vendor.id,
                fields.invoice_number,
                amount_units,
                fields.issue_date,
                text=raw_text,
                lines=[BillLine(line.description, line.amount) for line in fields.line_items],
            )
            claims = await claim_bill(session, invoice_id, keys)
            checks["duplicate_of"] = str(claims.duplicate_of) if claims.duplicate_of else None
            checks["possible_duplicate_of"] = (
                str(claims.possible_duplicate_of) if claims.possible_duplicate_of else None
            )
            checks["possible_duplicate_why"] = claims.why_possible
            checks["payee_change"] = payee_change(
                vendor,
                fields.payee_account,
                page_accounts=payout.identifiers,
                hidden_characters=payout.hidden_characters,
            )
            checks["payout_accounts"] = list(payout.identifiers)

        stored = fields.model_dump(mode="json")
        stored["dedupe_key"] = dedupe_key(vendor.id, fields.invoice_number, invoice.text_sha256) if vendor else None
        stored["checks"] = checks
        stored["engine"] = result.engine
        await log.append(
            invoice_id=invoice_id,
            step="extract",
            outcome="extracted" if not problems else "unreadable",
            reason=_summary(result, vendor.name if vendor else None, problems, checks["flags"], text_source),
            details={
                "engine": result.engine,
                "text_source": text_source,
                "fields": {k: v for k, v in stored.items() if k not in ("evidence", "line_items", "checks")},
                "vendor_id": vendor.id if vendor else None,
                "checks": checks,
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


async def _scan_payout(text: str) -> PayoutScan:
    # Linear, but a long text would still hold the event loop for a noticeable while.
    if len(text) > _THREAD_ABOVE_CHARS:
        return await asyncio.to_thread(scan_payout_identifiers, text)
    return scan_payout_identifiers(text)


def _state(vendor_id: uuid.UUID | None, amount_units: int | None, fields: dict) -> InvoiceState:
    return {
        "vendor_id": str(vendor_id) if vendor_id else None,
        "amount_units": amount_units,
        "dedupe_key": fields.get("dedupe_key"),
    }


def _summary(
    result: ExtractionResult, vendor: str | None, problems: list[str], flags: list[str], text_source: str
) -> str:
    fields = result.fields
    parts = [
        f"{result.engine} extraction" + (" of OCR text" if text_source == TextSource.OCR else ""),
        f"vendor {fields.vendor!r}" + (f" (registered as {vendor})" if vendor else " (not registered)"),
        f"invoice {fields.invoice_number or 'without number'}",
        f"total {fields.total} {fields.currency or ''}".strip() if fields.total is not None else "no total",
    ]
    return ", ".join(parts) + "".join(f"; {p}" for p in [*problems, *flags])
