"""The rule kinds a policy document is made of: one model per kind, discriminated on `kind`.

A rule only describes a condition and the action to take when it holds; what each condition means exactly
(and which facts it reads) is implemented in `policies.evaluator`. Only an `allow` rule can ever produce
`allow`: every other kind restricts, so its `action` is `require_approval` or `block`.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from policies.actions import Action
from policies.money import NO_FLOAT, Limit

# Rule ids starting with this are the evaluator's own (the amount guard, the default): never configurable.
BUILTIN_PREFIX = "builtin:"

Window = Literal["day", "week", "month"]
WINDOW_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 30}

# Twelve centuries is not a floor anyone means: treat it as a typo like an absurd amount.
Months = Annotated[Decimal, Field(gt=0, le=1200), NO_FLOAT]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _not_builtin(rule_id: str) -> str:
    if rule_id.startswith(BUILTIN_PREFIX):
        raise ValueError(f"rule ids starting with {BUILTIN_PREFIX!r} are reserved for the evaluator, got {rule_id!r}")
    return rule_id


def _restrictive(action: Action) -> Action:
    if action is Action.ALLOW:
        raise ValueError("only an 'allow' rule may allow a payment; use require_approval or block")
    return action


RuleId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_not_builtin)
]
Restrictive = Annotated[Action, AfterValidator(_restrictive)]


class _Rule(BaseModel):
    # Unknown keys are refused: a misspelt "max_amout" in stored JSON must not silently drop a limit.
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RuleId
    description: str = ""
    enabled: bool = True


class AmountLimitRule(_Rule):
    """Fires when the invoice amount is greater than `max_amount`."""

    kind: Literal["amount_limit"] = "amount_limit"
    max_amount: Limit
    action: Restrictive = Action.REQUIRE_APPROVAL


class VelocityRule(_Rule):
    """Fires when the spend already made in the rolling window (1, 7 or 30 days; to this invoice's vendor or in
    total) plus this amount is greater than `max_amount`."""

    kind: Literal["velocity"] = "velocity"
    scope: Literal["vendor", "global"]
    window: Window
    max_amount: Limit
    action: Restrictive = Action.REQUIRE_APPROVAL


class BudgetRule(_Rule):
    """Calendar-month budget of a category or of one vendor. Fires when the invoice's vendor is in scope (its
    category, or its id, equals `target`; categories compare case-insensitively) and the month-to-date spend
    plus this amount is greater than `monthly_amount`."""

    kind: Literal["budget"] = "budget"
    scope: Literal["category", "vendor"]
    target: Name
    monthly_amount: Limit
    action: Restrictive = Action.REQUIRE_APPROVAL


class UnknownVendorRule(_Rule):
    """Fires when the vendor is not in the registry."""

    kind: Literal["unknown_vendor"] = "unknown_vendor"
    action: Restrictive = Action.BLOCK


class PayeeChangeRule(_Rule):
    """Fires when the invoice's payout details differ from the registry, or when the vendor is on hold (a change
    of its payout address awaits a second person's approval)."""

    kind: Literal["payee_change"] = "payee_change"
    action: Restrictive = Action.REQUIRE_APPROVAL


class NewPayeeRule(_Rule):
    """Fires when nothing has yet been paid to the vendor's current payout address (a newly registered vendor, or
    a changed address), or while the address is younger than `cooling_off_hours`. Whoever registered, verified or
    changed that address never counts as the approver (enforced by the approvals service)."""

    kind: Literal["new_payee"] = "new_payee"
    cooling_off_hours: Annotated[Decimal, Field(ge=0, le=24 * 365), NO_FLOAT] = Decimal(0)
    action: Restrictive = Action.REQUIRE_APPROVAL


class SeparationOfDutiesRule(_Rule):
    """Fires when the invoice's submitter is one of the people who registered, verified or changed the payee's
    address: one person may act in only one step of a payment's chain (payee, submission, approval)."""

    kind: Literal["separation_of_duties"] = "separation_of_duties"
    action: Restrictive = Action.BLOCK


class DuplicateRule(_Rule):
    """`action` when the same bill is already claimed; `possible_action` when the same vendor, amount and date
    appear under another invoice number."""

    kind: Literal["duplicate"] = "duplicate"
    action: Restrictive = Action.BLOCK
    possible_action: Restrictive = Action.REQUIRE_APPROVAL


class ExtractionRule(_Rule):
    """Fires when the extraction raised flags (a value not found in the document, an LLM failure, extractors
    disagreeing) or when the lowest confidence among vendor, total and currency is below `min_confidence`. An
    extractor that reports no confidence is judged on its flags alone."""

    kind: Literal["extraction"] = "extraction"
    min_confidence: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    action: Restrictive = Action.REQUIRE_APPROVAL


class CurrencyRule(_Rule):
    """Fires when the invoice's currency is unknown or is not the document's currency (the stablecoin pays 1:1)."""

    kind: Literal["currency"] = "currency"
    action: Restrictive = Action.BLOCK


class FundsRule(_Rule):
    """Fires when the amount is greater than the spendable balance (on-chain balance minus reservations)."""

    kind: Literal["funds"] = "funds"
    action: Restrictive = Action.BLOCK


class RunwayFloorRule(_Rule):
    """Fires when the runway left after paying, (spendable - amount) / monthly burn, is below `min_months`.
    With no burn the runway is infinite and the rule never fires."""

    kind: Literal["runway_floor"] = "runway_floor"
    min_months: Months
    action: Restrictive = Action.REQUIRE_APPROVAL


class AllowRule(_Rule):
    """The only way to `allow`: fires when the amount is at most `max_amount` (None: any amount) and the vendor's
    category is one of `vendor_categories` (None: any vendor, even one without a category; compared
    case-insensitively). It cannot override a stricter rule: the strictest fired action wins."""

    kind: Literal["allow"] = "allow"
    max_amount: Limit | None = None
    vendor_categories: list[Name] | None = Field(default=None, min_length=1)

    def covers_category(self, category: str | None) -> bool:
        folded = self._folded_categories
        if folded is None:
            return True
        return category is not None and category.casefold() in folded

    @cached_property
    def _folded_categories(self) -> frozenset[str] | None:
        # Folded once per document, not per evaluation: the evaluator runs per invoice, the document rarely changes.
        if self.vendor_categories is None:
            return None
        return frozenset(c.casefold() for c in self.vendor_categories)


Rule = Annotated[
    AmountLimitRule
    | VelocityRule
    | BudgetRule
    | UnknownVendorRule
    | PayeeChangeRule
    | NewPayeeRule
    | SeparationOfDutiesRule
    | DuplicateRule
    | ExtractionRule
    | CurrencyRule
    | FundsRule
    | RunwayFloorRule
    | AllowRule,
    Field(discriminator="kind"),
]
