"""The evaluator: a pure function of (policy, policy version, invoice facts, treasury snapshot) -> Decision.

Precedence (the same text is in `PolicyDocument`'s docstring):

1. A missing or non-positive amount always blocks (reason "builtin:amount"), and so does a document that calls
   itself a credit note ("builtin:credit_note"); neither can be configured away.
   Rules that need the amount are then skipped; the others still run, so every blocking reason is reported.
2. Every enabled rule is evaluated, in document order; disabled rules are skipped.
3. An invoice is *covered* when at least one `allow` rule fired. For an uncovered invoice the document's
   `default_action` (require_approval or block) counts as one more fired action: fail closed. In particular,
   when no rule fires at all, the result is `default_action`.
4. The STRICTEST of those actions wins: block > require_approval > allow.
5. The reasons are the fired rules whose action is the winning one, in document order; when no fired rule has
   it (the default decided), the single reason "builtin:default".
6. Hence `allow` comes only from an `allow` rule, and only when nothing stricter fired.
7. On require_approval, the tier is the one whose band [min_amount, max_amount) contains the amount; when the
   amount falls in a gap between bands (or is unknown), the highest band (largest min_amount) decides, so a gap
   never lowers the bar. With no tiers the tier is None. Block and allow carry no tier.

Why the default joins every uncovered invoice (3) instead of applying only when nothing fired: with
`default_action` block, an uncovered invoice that crossed a require_approval limit would otherwise be LOOSENED
from block to approval, so a larger amount, more prior spend or a lower limit could turn a block into an
approval. Counting the default keeps every limit monotone. With default require_approval both readings give
the same action.

No I/O, no clock, no randomness: the same arguments always give the same decision, so a logged decision can be
replayed. Arithmetic runs in a private Decimal context, so a caller's context (precision, traps) cannot change
an outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from policies.actions import Action, strictest
from policies.decision import Decision, Reason
from policies.document import ApprovalTier, PolicyDocument
from policies.facts import InvoiceFacts, TreasurySnapshot
from policies.people import new_payee, separation_of_duties
from policies.rules import (
    WINDOW_DAYS,
    AllowRule,
    AmountLimitRule,
    BudgetRule,
    CurrencyRule,
    DuplicateRule,
    ExtractionRule,
    FundsRule,
    NewPayeeRule,
    PayeeChangeRule,
    RunwayFloorRule,
    SeparationOfDutiesRule,
    UnknownVendorRule,
    VelocityRule,
)

AMOUNT_GUARD = "builtin:amount"
CREDIT_NOTE_GUARD = "builtin:credit_note"
DEFAULT_RULE = "builtin:default"

# Amounts are capped at 10**15 with a few decimals, so 60 digits keeps every sum and product exact.
_ARITHMETIC = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_CENT = Decimal("0.01")

# A fired rule's action, and how to explain it: reasons are built only for the winning action, since most
# evaluations fire a looser rule (an allowance) that a stricter one then overrides.
Finding = tuple[Action, Callable[[], Reason]]
Findings = tuple[Finding, ...]
_QUIET: Findings = ()


class _Case:
    """One evaluation's inputs, with what every rule would otherwise recompute. A plain slotted class: it is
    built once per evaluation and a frozen dataclass costs as much as several rules."""

    __slots__ = ("policy", "invoice", "treasury", "amount", "spendable")

    def __init__(
        self, policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, amount: Decimal | None
    ) -> None:
        self.policy = policy
        self.invoice = invoice
        self.treasury = treasury
        self.amount = amount  # None unless the amount is present and positive
        self.spendable = treasury.spendable


def evaluate(policy: PolicyDocument, version: int, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> Decision:
    with localcontext(_ARITHMETIC):
        findings = _findings(policy, invoice, treasury)
        actions = [found for found, _ in findings]
        covered = Action.ALLOW in actions
        action = strictest(actions if covered else [*actions, policy.default_action])
        reasons = [explain() for found, explain in findings if found is action]
    if not reasons:
        reasons = [
            Reason(
                rule=DEFAULT_RULE,
                message=f"no allow rule covers this invoice; the policy's default applies: {action.value}",
                inputs={"default_action": action.value},
            )
        ]
    tier = approval_tier(policy, invoice.amount) if action is Action.REQUIRE_APPROVAL else None
    return Decision(action=action, tier=tier, reasons=reasons, policy_version=version)


def approval_tier(policy: PolicyDocument, amount: Decimal | None) -> ApprovalTier | None:
    """The tier whose band contains `amount`; in a gap (or with no amount) the highest band; None without tiers."""
    if not policy.tiers:
        return None
    if amount is not None:
        for tier in policy.tiers:
            if tier.contains(amount):
                return tier
    return max(policy.tiers, key=lambda tier: tier.min_amount)


def _findings(policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> list[Finding]:
    findings: list[Finding] = []
    amount = invoice.amount
    if amount is None:
        findings.append(
            (
                Action.BLOCK,
                lambda: Reason(rule=AMOUNT_GUARD, message="no payable amount was found", inputs={"amount": ""}),
            )
        )
    elif amount <= 0:
        given = _n(amount)
        findings.append(
            (
                Action.BLOCK,
                lambda: Reason(rule=AMOUNT_GUARD, message=f"amount {given} is not positive", inputs={"amount": given}),
            )
        )
        amount = None
    if invoice.document_kind == "credit_note":
        # Money owed to us, never a bill to pay: like a missing amount, no policy can configure this away.
        findings.append(
            (
                Action.BLOCK,
                lambda: Reason(
                    rule=CREDIT_NOTE_GUARD,
                    message="the document is a credit note: money owed to us, never a bill to pay",
                    inputs={"document_kind": "credit_note"},
                ),
            )
        )
    case = _Case(policy, invoice, treasury, amount)
    for rule in policy.rules:
        if rule.enabled:
            findings.extend(_CHECKS[type(rule)](rule, case))
    return findings


def _n(value: Decimal) -> str:
    # Plain notation: a reader (and the decision log) should see 1000000, not 1E+6.
    return format(value, "f")


def _money(value: Decimal, case: _Case) -> str:
    return f"{_n(value)} {case.policy.currency}"


def _amount_limit(rule: AmountLimitRule, case: _Case) -> Findings:
    amount = case.amount
    if amount is None or amount <= rule.max_amount:
        return _QUIET
    return (
        (
            rule.action,
            lambda: Reason(
                rule=rule.id,
                message=f"{_money(amount, case)} is over the per-invoice limit of {_money(rule.max_amount, case)}",
                inputs={"amount": _n(amount), "max_amount": _n(rule.max_amount)},
            ),
        ),
    )


def _velocity(rule: VelocityRule, case: _Case) -> Findings:
    amount = case.amount
    if amount is None:
        return _QUIET
    spent = (case.treasury.vendor_spend if rule.scope == "vendor" else case.treasury.global_spend)[rule.window]
    total = spent + amount
    if total <= rule.max_amount:
        return _QUIET

    def explain() -> Reason:
        whose = "to this vendor" if rule.scope == "vendor" else "in total"
        days = WINDOW_DAYS[rule.window]
        return Reason(
            rule=rule.id,
            message=(
                f"paying {_money(amount, case)} brings spend {whose} over the last {days} day(s) to "
                f"{_money(total, case)}, over the {days}-day limit of {_money(rule.max_amount, case)}"
            ),
            inputs={
                "scope": rule.scope,
                "window": rule.window,
                "amount": _n(amount),
                "spent": _n(spent),
                "total": _n(total),
                "max_amount": _n(rule.max_amount),
            },
        )

    return ((rule.action, explain),)


def _budget(rule: BudgetRule, case: _Case) -> Findings:
    amount = case.amount
    if amount is None:
        return _QUIET
    invoice = case.invoice
    if rule.scope == "category":
        category = invoice.vendor_category
        if category is None or category.casefold() != rule.target.casefold():
            return _QUIET
        spent = case.treasury.category_month_to_date
    else:
        if invoice.vendor_id != rule.target:
            return _QUIET
        spent = case.treasury.vendor_month_to_date
    total = spent + amount
    if total <= rule.monthly_amount:
        return _QUIET

    def explain() -> Reason:
        return Reason(
            rule=rule.id,
            message=(
                f"paying {_money(amount, case)} brings this month's {rule.scope} {rule.target!r} spend to "
                f"{_money(total, case)}, over its budget of {_money(rule.monthly_amount, case)}"
            ),
            inputs={
                "scope": rule.scope,
                "target": rule.target,
                "amount": _n(amount),
                "spent": _n(spent),
                "total": _n(total),
                "monthly_amount": _n(rule.monthly_amount),
            },
        )

    return ((rule.action, explain),)


def _unknown_vendor(rule: UnknownVendorRule, case: _Case) -> Findings:
    unverified = case.invoice.vendor_unverified
    if unverified is not None and case.invoice.vendor_registered:
        return (
            (
                rule.action,
                lambda: Reason(
                    rule=rule.id,
                    message=f"{unverified}; a second person must verify the vendor before it is paid",
                    inputs={"vendor_unverified": unverified},
                ),
            ),
        )
    if case.invoice.vendor_registered:
        return _QUIET
    return (
        (
            rule.action,
            lambda: Reason(
                rule=rule.id,
                message="the vendor is not in the registry; register it first",
                inputs={"vendor_registered": "false"},
            ),
        ),
    )


def _payee_change(rule: PayeeChangeRule, case: _Case) -> Findings:
    invoice = case.invoice
    if invoice.payee_change is None and invoice.vendor_on_hold is None:
        return _QUIET
    inputs: dict[str, str] = {}
    if invoice.payee_change is not None:
        inputs["payee_change"] = invoice.payee_change
    if invoice.vendor_on_hold is not None:
        inputs["vendor_on_hold"] = invoice.vendor_on_hold
    return ((rule.action, lambda: Reason(rule=rule.id, message="; ".join(inputs.values()), inputs=inputs)),)


def _duplicate(rule: DuplicateRule, case: _Case) -> Findings:
    invoice = case.invoice
    number = invoice.invoice_number or ""
    findings: list[Finding] = []
    if (claimed := invoice.duplicate_of) is not None:
        findings.append(
            (
                rule.action,
                lambda: Reason(
                    rule=rule.id,
                    message=f"duplicate of invoice {claimed}: the same vendor and invoice number",
                    inputs={"duplicate_of": claimed, "invoice_number": number},
                ),
            )
        )
    if (alike := invoice.possible_duplicate_of) is not None:
        findings.append(
            (
                rule.possible_action,
                lambda: Reason(
                    rule=rule.id,
                    message=f"possibly the same bill as invoice {alike}: {case.invoice.possible_duplicate_why}"
                    if case.invoice.possible_duplicate_why
                    else f"same vendor, amount and date as invoice {alike}",
                    inputs={"possible_duplicate_of": alike, "invoice_number": number},
                ),
            )
        )
    return tuple(findings)


def _extraction(rule: ExtractionRule, case: _Case) -> Findings:
    invoice = case.invoice
    confidence = invoice.extraction_confidence
    low = confidence is not None and confidence < rule.min_confidence
    if not invoice.extraction_flags and not low:
        return _QUIET

    def explain() -> Reason:
        problems = list(invoice.extraction_flags)
        if low:
            problems.append(f"confidence {confidence} below {rule.min_confidence}")
        return Reason(
            rule=rule.id,
            message=f"extraction needs review: {', '.join(problems)}",
            inputs={
                "flags": ", ".join(invoice.extraction_flags),
                "confidence": "" if confidence is None else str(confidence),
                "min_confidence": str(rule.min_confidence),
            },
        )

    return ((rule.action, explain),)


def _currency(rule: CurrencyRule, case: _Case) -> Findings:
    given = case.invoice.currency
    # Case and spacing are extraction noise, not a different currency.
    if given is not None and given.strip().upper() == case.policy.currency:
        return _QUIET
    return (
        (
            rule.action,
            lambda: Reason(
                rule=rule.id,
                message=f"invoice currency {given or 'unknown'} is not the treasury's {case.policy.currency}",
                inputs={"invoice_currency": given or "", "treasury_currency": case.policy.currency},
            ),
        ),
    )


def _funds(rule: FundsRule, case: _Case) -> Findings:
    amount = case.amount
    if amount is None or amount <= case.spendable:
        return _QUIET
    return (
        (
            rule.action,
            lambda: Reason(
                rule=rule.id,
                message=f"{_money(amount, case)} exceeds the spendable balance of {_money(case.spendable, case)}",
                inputs={
                    "amount": _n(amount),
                    "spendable": _n(case.spendable),
                    "balance": _n(case.treasury.balance),
                    "reserved": _n(case.treasury.reserved),
                },
            ),
        ),
    )


def _runway_floor(rule: RunwayFloorRule, case: _Case) -> Findings:
    amount = case.amount
    burn = case.treasury.monthly_burn
    if amount is None or burn == 0:
        return _QUIET
    left = case.spendable - amount
    # Compared as a product so the decision never depends on how a quotient was rounded.
    if left >= rule.min_months * burn:
        return _QUIET

    def explain() -> Reason:
        runway = _n((left / burn).quantize(_CENT))
        return Reason(
            rule=rule.id,
            message=(
                f"after paying {_money(amount, case)} the runway would be {runway} months, "
                f"below the floor of {_n(rule.min_months)}"
            ),
            inputs={
                "amount": _n(amount),
                "spendable": _n(case.spendable),
                "monthly_burn": _n(burn),
                "runway_after_months": runway,
                "min_months": _n(rule.min_months),
            },
        )

    return ((rule.action, explain),)


def _allow(rule: AllowRule, case: _Case) -> Findings:
    amount = case.amount
    if amount is None or (rule.max_amount is not None and amount > rule.max_amount):
        return _QUIET
    category = case.invoice.vendor_category
    if not rule.covers_category(category):
        return _QUIET

    def explain() -> Reason:
        within = "any amount" if rule.max_amount is None else f"the limit of {_money(rule.max_amount, case)}"
        inputs = {"amount": _n(amount), "max_amount": "" if rule.max_amount is None else _n(rule.max_amount)}
        if rule.vendor_categories is not None:
            inputs["vendor_category"] = category or ""
            inputs["vendor_categories"] = ", ".join(rule.vendor_categories)
        return Reason(rule=rule.id, message=f"{_money(amount, case)} is within {within}", inputs=inputs)

    return ((Action.ALLOW, explain),)


_CHECKS: dict[type, Callable[..., Findings]] = {
    AmountLimitRule: _amount_limit,
    VelocityRule: _velocity,
    BudgetRule: _budget,
    UnknownVendorRule: _unknown_vendor,
    PayeeChangeRule: _payee_change,
    NewPayeeRule: lambda rule, case: new_payee(rule, case.invoice, case.treasury.as_of),
    SeparationOfDutiesRule: lambda rule, case: separation_of_duties(rule, case.invoice),
    DuplicateRule: _duplicate,
    ExtractionRule: _extraction,
    CurrencyRule: _currency,
    FundsRule: _funds,
    RunwayFloorRule: _runway_floor,
    AllowRule: _allow,
}
