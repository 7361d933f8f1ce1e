"""Hypothesis strategies for random but valid policy documents, invoices and treasury snapshots.

Values are drawn from small pools (categories, vendors) and overlapping ranges so that rules actually fire
against the facts, and sit near each other's boundaries, instead of passing each other by.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from policies.actions import Action
from policies.document import PolicyDocument
from policies.facts import InvoiceFacts, TreasurySnapshot
from policies.rules import (
    AllowRule,
    AmountLimitRule,
    BudgetRule,
    CurrencyRule,
    DuplicateRule,
    ExtractionRule,
    FundsRule,
    PayeeChangeRule,
    RunwayFloorRule,
    UnknownVendorRule,
    VelocityRule,
)
from tests.policies.builders import AS_OF, FINANCE, TIERS

CATEGORIES = ["hosting", "saas", "contractors"]
VENDORS = ["acme", "globex"]

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)
spent = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=2)
restrictive = st.sampled_from([Action.REQUIRE_APPROVAL, Action.BLOCK])
enabled = st.sampled_from([True, True, True, False])  # mostly on, as in real documents


def _rule(kind: str) -> st.SearchStrategy:
    common = {"id": st.just("placeholder"), "enabled": enabled}
    if kind == "amount_limit":
        return st.builds(AmountLimitRule, max_amount=money, action=restrictive, **common)
    if kind == "velocity":
        return st.builds(
            VelocityRule,
            scope=st.sampled_from(["vendor", "global"]),
            window=st.sampled_from(["day", "week", "month"]),
            max_amount=money,
            action=restrictive,
            **common,
        )
    if kind == "budget":
        return st.one_of(
            st.builds(BudgetRule, scope=st.just("category"), target=st.sampled_from(CATEGORIES),
                      monthly_amount=money, action=restrictive, **common),
            st.builds(BudgetRule, scope=st.just("vendor"), target=st.sampled_from(VENDORS),
                      monthly_amount=money, action=restrictive, **common),
        )  # fmt: skip
    if kind == "runway_floor":
        months = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("12"), places=1)
        return st.builds(RunwayFloorRule, min_months=months, action=restrictive, **common)
    if kind == "extraction":
        confidence = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
        return st.builds(ExtractionRule, min_confidence=confidence, action=restrictive, **common)
    if kind == "duplicate":
        return st.builds(DuplicateRule, action=restrictive, possible_action=restrictive, **common)
    if kind == "allow":
        return st.builds(
            AllowRule,
            max_amount=st.none() | money,
            vendor_categories=st.none() | st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
            **common,
        )
    simple = {
        "unknown_vendor": UnknownVendorRule,
        "payee_change": PayeeChangeRule,
        "currency": CurrencyRule,
        "funds": FundsRule,
    }
    return st.builds(simple[kind], action=restrictive, **common)


KINDS = [
    "amount_limit",
    "velocity",
    "budget",
    "unknown_vendor",
    "payee_change",
    "duplicate",
    "extraction",
    "currency",
    "funds",
    "runway_floor",
    "allow",
]
any_rule = st.one_of([_rule(kind) for kind in KINDS])
any_allowance = _rule("allow")


@st.composite
def documents(
    draw: st.DrawFn, min_rules: int = 0, max_rules: int = 10, allowance: bool | None = None
) -> PolicyDocument:
    """Random valid documents; `allowance` True always adds an allow rule with a limit, None adds one at random."""
    rules = draw(st.lists(any_rule, min_size=min_rules, max_size=max_rules))
    # Allowances are common in real documents; without them most random documents could never allow.
    if allowance or (allowance is None and draw(st.booleans())):
        allow = draw(any_allowance)
        if allowance and allow.max_amount is None:
            allow = allow.model_copy(update={"max_amount": draw(money)})
        rules.insert(draw(st.integers(0, len(rules))), allow)
    numbered = [rule.model_copy(update={"id": f"r{index}"}) for index, rule in enumerate(rules)]
    with_tiers = draw(st.booleans())
    return PolicyDocument(
        currency="USD",
        rules=numbered,
        groups=FINANCE if with_tiers else {},
        tiers=TIERS if with_tiers else [],
        default_action=draw(restrictive),
    )


@st.composite
def invoices(draw: st.DrawFn, positive: bool = True) -> InvoiceFacts:
    amount = draw(money if positive else (st.none() | money | st.decimals(max_value=Decimal(0), places=2,
                                                                             min_value=Decimal(-100))))  # fmt: skip
    rare = st.none() | st.none() | st.none() | st.just("found")
    return InvoiceFacts(
        amount=amount,
        currency=draw(st.sampled_from(["USD", "USD", "USD", "usd", "EUR", None])),
        vendor_registered=draw(st.booleans() | st.just(True)),
        vendor_id=draw(st.sampled_from([*VENDORS, None])),
        vendor_category=draw(st.sampled_from([*CATEGORIES, "Hosting", None])),
        vendor_on_hold=draw(rare),
        invoice_number="A-1",
        duplicate_of=draw(rare),
        possible_duplicate_of=draw(rare),
        payee_change=draw(rare),
        extraction_flags=draw(st.sampled_from([(), (), (), ("total not found",)])),
        extraction_confidence=draw(st.none() | st.floats(min_value=0.0, max_value=1.0, allow_nan=False)),
        submitted_by="cfo@example.com",
    )


def _windows() -> st.SearchStrategy[dict[str, Decimal]]:
    return st.fixed_dictionaries({"day": spent, "week": spent, "month": spent})


@st.composite
def snapshots(draw: st.DrawFn) -> TreasurySnapshot:
    return TreasurySnapshot(
        balance=draw(st.decimals(min_value=Decimal(0), max_value=Decimal(200_000), places=2)),
        reserved=draw(st.decimals(min_value=Decimal(0), max_value=Decimal(20_000), places=2)),
        monthly_burn=draw(st.just(Decimal(0)) | st.decimals(min_value=Decimal(0), max_value=Decimal(50_000), places=2)),
        vendor_spend=draw(_windows()),
        global_spend=draw(_windows()),
        vendor_month_to_date=draw(spent),
        category_month_to_date=draw(spent),
        as_of=AS_OF,
    )
