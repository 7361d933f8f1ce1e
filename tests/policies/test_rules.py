"""Each rule kind firing and not firing at its boundary.

A restricting rule is tested beside an allowance that covers every invoice, so silence reads as `allow`; an
allowance is tested alone in a document that blocks by default, so silence reads as the default's `block`.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.actions import Action
from policies.evaluator import AMOUNT_GUARD, DEFAULT_RULE, evaluate
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
from tests.policies.builders import D, document, facts, snapshot, spend

LIMIT = AmountLimitRule(id="limit", max_amount=D(100))
VENDOR_DAY = VelocityRule(id="v", scope="vendor", window="day", max_amount=D(1000))
VENDOR_WEEK = VelocityRule(id="v", scope="vendor", window="week", max_amount=D(1000))
GLOBAL_MONTH = VelocityRule(id="v", scope="global", window="month", max_amount=D(1000))
HOSTING = BudgetRule(id="b", scope="category", target="hosting", monthly_amount=D(5000))
ACME = BudgetRule(id="b", scope="vendor", target="acme", monthly_amount=D(5000))
UNKNOWN = UnknownVendorRule(id="u")
PAYEE = PayeeChangeRule(id="p")
DUPLICATE = DuplicateRule(id="d")
EXTRACTION = ExtractionRule(id="x", min_confidence=0.5)
CURRENCY = CurrencyRule(id="c")
FUNDS = FundsRule(id="f")
RUNWAY = RunwayFloorRule(id="r", min_months=D(2))
ALLOW_SAAS = AllowRule(id="ok", max_amount=D(100), vendor_categories=["saas"])
ALLOW_ANY = AllowRule(id="ok")
COVER_ALL = AllowRule(id="cover-all")

BLOCK, APPROVE, ALLOW = Action.BLOCK, Action.REQUIRE_APPROVAL, Action.ALLOW

# (rule, invoice overrides, snapshot overrides, the action when it fires or None when it must stay silent)
CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any], Action | None]] = [
    ("limit at max", LIMIT, {"amount": D("100")}, {}, None),
    ("limit over max", LIMIT, {"amount": D("100.01")}, {}, APPROVE),
    ("limit configured to block", LIMIT.model_copy(update={"action": BLOCK}), {"amount": D("101")}, {}, BLOCK),
    ("vendor day at max", VENDOR_DAY, {"amount": D("100")}, {"vendor_spend": spend(day=900)}, None),
    ("vendor day over", VENDOR_DAY, {"amount": D("100.01")}, {"vendor_spend": spend(day=900)}, APPROVE),
    ("vendor day reads no other window", VENDOR_DAY, {}, {"vendor_spend": spend(week=10**6, month=10**6)}, None),
    ("vendor day ignores global spend", VENDOR_DAY, {}, {"global_spend": spend(day=10**6)}, None),
    ("vendor week over", VENDOR_WEEK, {"amount": D("1")}, {"vendor_spend": spend(week="999.99")}, APPROVE),
    ("vendor week at max", VENDOR_WEEK, {"amount": D("1")}, {"vendor_spend": spend(week="999")}, None),
    ("global month over", GLOBAL_MONTH, {"amount": D("1")}, {"global_spend": spend(month=1000)}, APPROVE),
    ("global month at max", GLOBAL_MONTH, {"amount": D("1")}, {"global_spend": spend(month=999)}, None),
    ("global ignores vendor spend", GLOBAL_MONTH, {}, {"vendor_spend": spend(month=10**6)}, None),
    ("velocity over on its own", VENDOR_DAY, {"amount": D("1000.01")}, {}, APPROVE),
    ("budget at max", HOSTING, {"vendor_category": "hosting", "amount": D(1000)}, {"category_month_to_date": D(4000)},
     None),
    ("budget over", HOSTING, {"vendor_category": "hosting", "amount": D("1000.01")},
     {"category_month_to_date": D(4000)}, APPROVE),
    ("budget category case-insensitive", HOSTING, {"vendor_category": "Hosting", "amount": D(5001)}, {}, APPROVE),
    ("budget other category", HOSTING, {"vendor_category": "saas", "amount": D(10**6)},
     {"category_month_to_date": D(10**6)}, None),
    ("budget no category", HOSTING, {"vendor_category": None, "amount": D(10**6)}, {}, None),
    ("vendor budget over", ACME, {"vendor_id": "acme", "amount": D(1)}, {"vendor_month_to_date": D(5000)}, APPROVE),
    ("vendor budget at max", ACME, {"vendor_id": "acme", "amount": D(1)}, {"vendor_month_to_date": D(4999)}, None),
    ("vendor budget other vendor", ACME, {"vendor_id": "globex", "amount": D(10**6)}, {}, None),
    ("vendor budget reads vendor month", ACME, {"amount": D(1)}, {"category_month_to_date": D(10**6)}, None),
    ("registered vendor", UNKNOWN, {}, {}, None),
    ("unknown vendor", UNKNOWN, {"vendor_registered": False, "vendor_id": None}, {}, BLOCK),
    ("same payee", PAYEE, {}, {}, None),
    ("payee change", PAYEE, {"payee_change": "IBAN differs from the registry"}, {}, APPROVE),
    ("vendor on hold", PAYEE, {"vendor_on_hold": "address change pending"}, {}, APPROVE),
    ("no duplicate", DUPLICATE, {}, {}, None),
    ("duplicate", DUPLICATE, {"duplicate_of": "A-0"}, {}, BLOCK),
    ("possible duplicate", DUPLICATE, {"possible_duplicate_of": "A-0"}, {}, APPROVE),
    ("both duplicates", DUPLICATE, {"duplicate_of": "A-0", "possible_duplicate_of": "A-2"}, {}, BLOCK),
    ("clean extraction", EXTRACTION, {"extraction_confidence": 0.9}, {}, None),
    ("confidence at min", EXTRACTION, {"extraction_confidence": 0.5}, {}, None),
    ("confidence below min", EXTRACTION, {"extraction_confidence": 0.49}, {}, APPROVE),
    ("no confidence reported", EXTRACTION, {"extraction_confidence": None}, {}, None),
    ("extraction flag", EXTRACTION, {"extraction_flags": ("total not in document",)}, {}, APPROVE),
    ("same currency", CURRENCY, {}, {}, None),
    ("same currency, other case", CURRENCY, {"currency": " usd"}, {}, None),
    ("other currency", CURRENCY, {"currency": "EUR"}, {}, BLOCK),
    ("unknown currency", CURRENCY, {"currency": None}, {}, BLOCK),
    ("funds exactly spendable", FUNDS, {"amount": D(900)}, {"balance": D(1000), "reserved": D(100)}, None),
    ("funds over spendable", FUNDS, {"amount": D("900.01")}, {"balance": D(1000), "reserved": D(100)}, BLOCK),
    ("runway at floor", RUNWAY, {"amount": D(800)}, {"balance": D(1000), "monthly_burn": D(100)}, None),
    ("runway below floor", RUNWAY, {"amount": D("800.01")}, {"balance": D(1000), "monthly_burn": D(100)}, APPROVE),
    ("runway counts reserved", RUNWAY, {"amount": D(1)}, {"balance": D(1000), "reserved": D(800),
                                                          "monthly_burn": D(100)}, APPROVE),
    ("no burn, infinite runway", RUNWAY, {"amount": D(1000)}, {"balance": D(1000), "monthly_burn": D(0)}, None),
    ("allow at max", ALLOW_SAAS, {"amount": D(100)}, {}, ALLOW),
    ("allow over max", ALLOW_SAAS, {"amount": D("100.01")}, {}, None),
    ("allow other category", ALLOW_SAAS, {"vendor_category": "hosting"}, {}, None),
    ("allow category case-insensitive", ALLOW_SAAS, {"vendor_category": "SaaS"}, {}, ALLOW),
    ("allow no category", ALLOW_SAAS, {"vendor_category": None}, {}, None),
    ("allow any", ALLOW_ANY, {"amount": D(10**9), "vendor_category": None}, {}, ALLOW),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "invoice", "treasury", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_rule_fires_exactly_past_its_boundary(
    rule: Any, invoice: dict[str, Any], treasury: dict[str, Any], expected: Action | None
) -> None:
    if isinstance(rule, AllowRule):
        policy, silent = document(rule, default_action=BLOCK), (BLOCK, [DEFAULT_RULE])
    else:
        policy, silent = document(rule, COVER_ALL, default_action=BLOCK), (ALLOW, [COVER_ALL.id])
    decision = evaluate(policy, 1, facts(**invoice), snapshot(**treasury))
    rules = [reason.rule for reason in decision.reasons]
    if expected is None:
        assert (decision.action, rules) == silent
    else:
        assert decision.action == expected
        assert rule.id in rules and DEFAULT_RULE not in rules
        for reason in decision.reasons:
            assert reason.inputs and all(isinstance(value, str) for value in reason.inputs.values())


@pytest.mark.parametrize("amount", [None, D(0), D("-0.01"), D(-500)])
@pytest.mark.parametrize("rule", [ALLOW_ANY, LIMIT, FUNDS, RUNWAY, VENDOR_DAY, HOSTING])
def test_missing_or_non_positive_amount_always_blocks(amount: Any, rule: Any) -> None:
    decision = evaluate(document(rule), 1, facts(amount=amount, vendor_category="hosting"), snapshot())
    assert decision.action == BLOCK
    assert [reason.rule for reason in decision.reasons] == [AMOUNT_GUARD]
    assert decision.tier is None


def test_amount_guard_reports_the_other_blocking_rules_too() -> None:
    policy = document(ALLOW_ANY, CURRENCY, UNKNOWN, PAYEE)
    decision = evaluate(policy, 1, facts(amount=None, currency="EUR", vendor_registered=False, payee_change="x"),
                        snapshot())  # fmt: skip
    assert decision.action == BLOCK
    assert [reason.rule for reason in decision.reasons] == [AMOUNT_GUARD, "c", "u"]


def test_reasons_carry_the_numbers_compared() -> None:
    rule = VelocityRule(id="v", scope="global", window="week", max_amount=D("1E+3"))
    decision = evaluate(document(rule), 1, facts(amount=D("250.50")), snapshot(global_spend=spend(week="800")))
    assert decision.reasons[0].inputs == {
        "scope": "global",
        "window": "week",
        "amount": "250.50",
        "spent": "800",
        "total": "1050.50",
        "max_amount": "1000",
    }
    assert "1050.50 USD" in decision.reasons[0].message


def test_runway_reason_reports_the_runway_left() -> None:
    decision = evaluate(
        document(RUNWAY), 1, facts(amount=D(900)), snapshot(balance=D(1000), reserved=D(50), monthly_burn=D(300))
    )
    assert decision.reasons[0].inputs == {
        "amount": "900",
        "spendable": "950",
        "monthly_burn": "300",
        "runway_after_months": "0.17",
        "min_months": "2",
    }


def test_both_duplicate_findings_are_reported_when_they_share_an_action() -> None:
    rule = DuplicateRule(id="d", action=APPROVE)
    decision = evaluate(document(rule), 1, facts(duplicate_of="A-0", possible_duplicate_of="A-2"), snapshot())
    assert decision.action == APPROVE
    assert [r.inputs.get("duplicate_of") or r.inputs.get("possible_duplicate_of") for r in decision.reasons] == [
        "A-0",
        "A-2",
    ]


def test_payee_change_and_hold_are_one_reason_with_both_details() -> None:
    decision = evaluate(
        document(PAYEE), 1, facts(payee_change="new IBAN", vendor_on_hold="address pending"), snapshot()
    )
    assert [r.inputs for r in decision.reasons] == [{"payee_change": "new IBAN", "vendor_on_hold": "address pending"}]


def test_low_confidence_and_flags_are_one_reason() -> None:
    decision = evaluate(document(EXTRACTION), 1, facts(extraction_flags=("a", "b"), extraction_confidence=0.2),
                        snapshot())  # fmt: skip
    assert len(decision.reasons) == 1
    assert decision.reasons[0].inputs == {"flags": "a, b", "confidence": "0.2", "min_confidence": "0.5"}
