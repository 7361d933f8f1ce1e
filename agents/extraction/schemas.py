"""The one record every extractor returns.

Values are kept as strings or `Decimal`, never `float`: the total feeds a payment and must survive a round trip
through JSON and the database unchanged.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class FieldEvidence(BaseModel):
    """Where a value came from, so grounding and a human reviewer can find it in the document."""

    model_config = ConfigDict(frozen=True)

    confidence: float = Field(ge=0.0, le=1.0)
    # Character offsets [start, end) into the source text; None when the value was derived, not read.
    span: tuple[int, int] | None = None


class LineItem(BaseModel):
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None


class InvoiceFields(BaseModel):
    """An invoice as read from its text. Nothing here is trusted for money until it is grounded and matched."""

    vendor: str | None = None
    invoice_number: str | None = None
    issue_date: str | None = None  # ISO 8601 YYYY-MM-DD
    due_date: str | None = None  # ISO 8601 YYYY-MM-DD
    total: Decimal | None = None  # grand total including tax, in currency units
    currency: str | None = None  # ISO 4217
    payee_account: str | None = None  # IBAN / account without spaces, or EIP-55 EVM address
    line_items: list[LineItem] = Field(default_factory=list)
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
