"""The facts a policy is evaluated on: what is known about one invoice, and the treasury at one instant.

Both are gathered by the caller (extraction, verification, the ledger, the chain) and frozen before the
evaluator sees them, so a decision can be replayed from what was logged.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from policies.money import Money, NonNegative
from policies.rules import Window

_WINDOWS: frozenset[str] = frozenset(("day", "week", "month"))


class InvoiceFacts(BaseModel):
    """What the evaluator may know about an invoice: extracted, checked, matched. Amounts are Decimal.

    The optional findings default to "nothing found"; the caller sets each check it ran.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Money | None
    currency: str | None
    vendor_registered: bool
    vendor_id: str | None = None
    vendor_category: str | None = None
    vendor_on_hold: str | None = None  # why payments to this vendor are held (e.g. a pending payout-address change)
    vendor_unverified: str | None = None  # why the vendor is not payable yet: nobody but its registrar vouched for it
    # The payee: whether anything was ever paid to its current address, since when that address is payable, and
    # the user ids of the people who put it there (registered, edited, verified, requested or approved it).
    payee_first_payment: bool = False
    payee_since: AwareDatetime | None = None
    payee_vouched_by: tuple[str, ...] = ()
    submitted_by_user_id: str | None = None
    # What the document says it is, when not a plain invoice: "credit_note", "correction" or "reminder".
    document_kind: str | None = None
    invoice_number: str | None = None
    duplicate_of: str | None = None  # the same bill (vendor + invoice number) is already claimed
    possible_duplicate_of: str | None = None  # same vendor, amount and date under another number
    possible_duplicate_why: str | None = None  # which likeness matched, when it was not amount and date
    payee_change: str | None = None  # why the printed payout details differ from the registry
    extraction_flags: tuple[str, ...] = ()  # values not found in the document, LLM failures, disagreements
    # The lowest confidence among vendor, total and currency; None when the extractor reports none.
    extraction_confidence: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    submitted_by: str | None = None


class TreasurySnapshot(BaseModel):
    """The treasury as the ledger and the chain saw it at `as_of`. Every figure is required: a spend the caller
    forgot to load must not read as zero and loosen a velocity or budget rule.

    `vendor_spend` / `global_spend` are rolling windows (day = 1, week = 7, month = 30 days) of spend already
    committed, to this invoice's vendor / in total; `vendor_month_to_date` / `category_month_to_date` are the
    calendar month so far, for this invoice's vendor / its vendor's category.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    balance: NonNegative  # on chain
    reserved: NonNegative  # reserved for payments in flight
    monthly_burn: NonNegative
    vendor_spend: dict[Window, NonNegative]
    global_spend: dict[Window, NonNegative]
    vendor_month_to_date: NonNegative
    category_month_to_date: NonNegative
    as_of: AwareDatetime

    @field_validator("vendor_spend", "global_spend")
    @classmethod
    def _every_window(cls, spend: dict[str, Decimal]) -> dict[str, Decimal]:
        missing = sorted(_WINDOWS - spend.keys())
        if missing:
            raise ValueError(f"missing window(s) {', '.join(missing)}; give day, week and month")
        return spend

    @property
    def spendable(self) -> Decimal:
        return self.balance - self.reserved

    @property
    def runway_months(self) -> Decimal | None:
        """Months the spendable balance lasts at the current burn; None when nothing burns (infinite runway)."""
        if self.monthly_burn == 0:
            return None
        return self.spendable / self.monthly_burn
