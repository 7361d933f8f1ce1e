"""The policy document and the facts it is evaluated on. Pure data: no I/O, nothing of ours imported.

The spine carries one rule, the per-invoice limit; the policy engine grows this document into
ordered, versioned rules without changing the evaluator's signature.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Action(enum.StrEnum):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    BLOCK = "block"


class PolicyDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = 1
    # The currency the stablecoin stands for; an invoice in another currency cannot be paid 1:1.
    currency: str = "USD"
    per_invoice_limit: Decimal = Field(gt=0)
    over_limit_action: Action = Action.REQUIRE_APPROVAL


class InvoiceFacts(BaseModel):
    """What the evaluator may know about an invoice: extracted, checked, matched. Amounts are Decimal."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal | None
    currency: str | None
    vendor_registered: bool
    invoice_number: str | None
    duplicate_of: str | None = None  # the same bill (vendor + invoice number) is already claimed
    possible_duplicate_of: str | None = None  # same vendor, amount and date under another number
    payee_change: str | None = None  # why the printed payout details differ from the registry
    extraction_flags: tuple[str, ...] = ()  # values not found in the document, LLM failures, disagreements


class TreasurySnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    spendable: Decimal


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    inputs: dict[str, str] = Field(default_factory=dict)


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Action
    reasons: list[Reason]
    policy_version: int

    @property
    def summary(self) -> str:
        return "; ".join(r.message for r in self.reasons)
