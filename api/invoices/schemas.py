"""Request and response bodies of the invoice endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from finance.invoices import MAX_INVOICE_TEXT_BYTES as MAX_INVOICE_BYTES

# Control characters other than whitespace, deleted by str.translate to count them.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t\f\v")


class InvoiceSubmission(BaseModel):
    raw_text: str = Field(
        description="The invoice as plain UTF-8 text.",
        examples=["ACME Hosting GmbH\nInvoice No: INV-2024-001\nDate: 2024-03-05\nTotal: USD 1,250.00"],
    )

    @field_validator("raw_text")
    @classmethod
    def _readable_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("raw_text is empty; send the invoice's text")
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_INVOICE_BYTES:
            raise ValueError(f"raw_text is {size} bytes; the limit is {MAX_INVOICE_BYTES} bytes (1 MB)")
        if "\x00" in value or "\ufffd" in value:
            raise ValueError("raw_text looks binary or is not valid UTF-8; send the invoice's text, not a file")
        # translate() runs in C: a per-character Python loop held the event loop ~90 ms on a 1 MB body.
        control = len(value) - len(value.translate(_CONTROL))
        if control > max(8, len(value) // 100):
            raise ValueError("raw_text is mostly control characters; it looks binary, send the invoice's text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("raw_text is not valid UTF-8 (it contains lone surrogates)") from exc
        return value


Status = Literal[
    "SUCCESS",
    "PAUSED_FOR_APPROVAL",
    "BLOCKED",
    "FAILED",
    "PENDING_CONFIRMATION",
    "QUEUED",
    "PROCESSING",
    "REJECTED",
    "EXPIRED",
    "CANCELLED",
]


class ProcessInvoiceResponse(BaseModel):
    """The shape clients of the original design read."""

    invoice_id: uuid.UUID
    status: Status
    reason: str | None = None
    tx_hash: str | None = None
    approval_id: str | None = None


class DecisionOut(BaseModel):
    id: int
    step: str
    outcome: str
    reason: str
    details: dict[str, Any]
    created_at: datetime
    hash: str


class InvoiceDetail(ProcessInvoiceResponse):
    # How the text was read: "text" (typed), "pdf" (a text layer), "ocr" (a scan; a reading that may be wrong),
    # "einvoice" (structured XML).
    text_source: str
    vendor: str | None
    invoice_number: str | None
    currency: str | None
    total: str | None
    decisions: list[DecisionOut]


class InvoiceSummary(BaseModel):
    invoice_id: uuid.UUID
    status: str
    vendor: str | None
    invoice_number: str | None
    currency: str | None
    total: str | None
    submitted_by: str | None
    reason: str | None
    created_at: datetime


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    total: int
    limit: int
    offset: int
