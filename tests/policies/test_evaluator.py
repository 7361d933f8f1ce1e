"""Precedence, the fail-closed default, disabled rules, tier selection and what a Decision carries."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import get_args

import pytest

from policies.actions import Action
from policies.document import ApprovalTier, ApproverGroup, PolicyDocument
from policies.evaluator import _CHECKS, AMOUNT_GUARD, DEFAULT_RULE, approval_tier, evaluate
from policies.rules import (
    AllowRule,
    AmountLimitRule,
    CurrencyRule,
    DuplicateRule,
    ExtractionRule,
    FundsRule,
    PayeeChangeRule,
    Rule,
    UnknownVendorRule,
    VelocityRule,
)
from tests.policies.builders import D, document, facts, snapshot, spend

BLOCK, APPROVE, ALLOW = Action.BLOCK, Action.REQUIRE_APPROVAL, Action.ALLOW

ALLOW_ALL = AllowRule(id="allow-all")
OVER_50 = AmountLimitRule(id="over-50", max_amount=D(50))
OVER_10 = AmountLimitRule(id="over-10", max_amount=D(10))
CURRENCY = CurrencyRule(id="currency")
UNKNOWN = UnknownVendorRule(id="unknown")


def rules_of(decision: object) -> list[str]:
    return [reason.rule for reason in decision.reasons]  # type: ignore[attr-defined]


def test_block_beats_approval_beats_allow() -> None:
    policy = document(ALLOW_ALL, OVER_50, CURRENCY)
    assert evaluate(policy, 1, facts(amount=D(40)), snapshot()).action == ALLOW
    assert evaluate(policy, 1, facts(amount=D(60)), snapshot()).action == APPROVE
    assert evaluate(policy, 1, facts(amount=D(60), currency="EUR"), snapshot()).action == BLOCK
    assert evaluate(policy, 1, facts(amount=D(40), currency="EUR"), snapshot()).action == BLOCK


def test_reasons_are_the_winning_rules_in_document_order() -> None:
    policy = document(OVER_50, ALLOW_ALL, UNKNOWN, OVER_10, CURRENCY)
    decision = evaluate(policy, 1, facts(amount=D(60)), snapshot())
    assert (decision.action, rules_of(decision)) == (APPROVE, ["over-50", "over-10"])
    decision = evaluate(policy, 1, facts(amount=D(60), currency="EUR", vendor_registered=False), snapshot())
    assert (decision.action, rules_of(decision)) == (BLOCK, ["unknown", "currency"])

    reordered = document(CURRENCY, OVER_10, UNKNOWN, ALLOW_ALL, OVER_50)
    decision = evaluate(reordered, 1, facts(amount=D(60)), snapshot())
    assert (decision.action, rules_of(decision)) == (APPROVE, ["over-10", "over-50"])


def test_a_rule_order_never_lets_an_allowance_win() -> None:
    # An allow rule first in the list does not short-circuit: the strictest action wins wherever it sits.
    decision = evaluate(document(ALLOW_ALL, FundsRule(id="funds")), 1, facts(amount=D(10)), snapshot(balance=D(5)))
    assert (decision.action, rules_of(decision)) == (BLOCK, ["funds"])


@pytest.mark.parametrize("default", [APPROVE, BLOCK])
def test_no_rule_fired_falls_back_to_the_default(default: Action) -> None:
    decision = evaluate(document(OVER_50, CURRENCY, default_action=default), 1, facts(amount=D(20)), snapshot())
    assert decision.action == default
    assert rules_of(decision) == [DEFAULT_RULE]
    assert decision.reasons[0].inputs == {"default_action": default.value}


def test_an_uncovered_invoice_never_gets_looser_than_the_default() -> None:
    # Default block: crossing a require_approval limit must not turn "blocked" into "ask someone".
    policy = document(OVER_50, AllowRule(id="saas", vendor_categories=["saas"]), default_action=BLOCK)
    uncovered = evaluate(policy, 1, facts(amount=D(60), vendor_category="marketing"), snapshot())
    assert (uncovered.action, rules_of(uncovered)) == (BLOCK, [DEFAULT_RULE])
    assert uncovered.reasons[0].message == "no allow rule covers this invoice; the policy's default applies: block"
    assert evaluate(policy, 1, facts(amount=D(40), vendor_category="marketing"), snapshot()).action == BLOCK
    covered = evaluate(policy, 1, facts(amount=D(60), vendor_category="saas"), snapshot())
    assert (covered.action, rules_of(covered)) == (APPROVE, ["over-50"])


def test_a_rule_sharing_the_default_action_explains_the_decision_itself() -> None:
    decision = evaluate(document(OVER_50, default_action=APPROVE), 1, facts(amount=D(60)), snapshot())
    assert (decision.action, rules_of(decision)) == (APPROVE, ["over-50"])
    decision = evaluate(document(CURRENCY, default_action=BLOCK), 1, facts(currency="EUR"), snapshot())
    assert (decision.action, rules_of(decision)) == (BLOCK, ["currency"])


def test_an_empty_document_fails_closed() -> None:
    assert evaluate(document(), 1, facts(), snapshot()).action == APPROVE


def test_allow_needs_an_allow_rule_even_when_every_check_passes() -> None:
    policy = document(UNKNOWN, CURRENCY, DuplicateRule(id="d"), PayeeChangeRule(id="p"), FundsRule(id="f"))
    assert evaluate(policy, 1, facts(), snapshot()).action == APPROVE


def test_disabled_rules_are_ignored() -> None:
    policy = document(
        ALLOW_ALL,
        OVER_10.model_copy(update={"enabled": False}),
        CurrencyRule(id="currency", enabled=False),
    )
    decision = evaluate(policy, 1, facts(amount=D(60), currency="EUR"), snapshot())
    assert (decision.action, rules_of(decision)) == (ALLOW, ["allow-all"])

    only_disabled = document(AllowRule(id="off", enabled=False))
    assert rules_of(evaluate(only_disabled, 1, facts(), snapshot())) == [DEFAULT_RULE]


def test_the_amount_guard_cannot_be_disabled_or_overridden() -> None:
    decision = evaluate(document(ALLOW_ALL), 1, facts(amount=None), snapshot())
    assert (decision.action, rules_of(decision)) == (BLOCK, [AMOUNT_GUARD])


@pytest.mark.parametrize(
    ("amount", "tier"),
    [
        (D("0.01"), "small"),
        (D("999.99"), "small"),
        (D(1000), "medium"),  # min inclusive, max exclusive
        (D("9999.99"), "medium"),
        (D(10000), "large"),
        (D(10**12), "large"),
    ],
)
def test_approval_picks_the_tier_whose_band_holds_the_amount(amount: Decimal, tier: str) -> None:
    decision = evaluate(document(tiers=True), 1, facts(amount=amount), snapshot())
    assert decision.action == APPROVE
    assert decision.tier is not None and decision.tier.id == tier


def test_tiers_only_accompany_require_approval() -> None:
    policy = document(ALLOW_ALL, CURRENCY, tiers=True)
    assert evaluate(policy, 1, facts(), snapshot()).tier is None
    assert evaluate(policy, 1, facts(currency="EUR"), snapshot()).tier is None
    assert evaluate(document(), 1, facts(), snapshot()).tier is None  # approval, but no tiers defined


def test_an_amount_in_a_gap_goes_to_the_highest_tier() -> None:
    policy = PolicyDocument(
        currency="USD",
        rules=[],
        groups={"ops": ApproverGroup(members=["a", "b"])},
        tiers=[
            ApprovalTier(id="top", min_amount=D(5000), group="ops", quorum=2),
            ApprovalTier(id="mid", min_amount=D(100), max_amount=D(1000), group="ops", quorum=1),
        ],
    )
    assert approval_tier(policy, D(500)).id == "mid"  # type: ignore[union-attr]
    assert approval_tier(policy, D(50)).id == "top"  # type: ignore[union-attr]  below every band
    assert approval_tier(policy, D(2000)).id == "top"  # type: ignore[union-attr]  between bands
    assert approval_tier(policy, None).id == "top"  # type: ignore[union-attr]
    assert evaluate(policy, 1, facts(amount=D(2000)), snapshot()).tier.id == "top"  # type: ignore[union-attr]


def test_the_decision_carries_the_version_it_was_given() -> None:
    assert evaluate(document(), 42, facts(), snapshot()).policy_version == 42


def test_evaluation_ignores_the_callers_decimal_context() -> None:
    # Spent + amount needs 10 digits: a 3-digit context would round it (and here trap), changing the outcome.
    policy = document(VelocityRule(id="daily", scope="global", window="day", max_amount=D("12345678.91")), ALLOW_ALL)
    invoice, treasury = facts(amount=D("0.92")), snapshot(global_spend=spend(day="12345678"))
    expected = evaluate(policy, 1, invoice, treasury)
    with decimal.localcontext(decimal.Context(prec=3, traps=[decimal.Inexact, decimal.Rounded])):
        assert evaluate(policy, 1, invoice, treasury) == expected
    assert rules_of(expected) == ["daily"]
    assert expected.reasons[0].inputs["total"] == "12345678.92"


def test_summary_joins_the_messages() -> None:
    decision = evaluate(document(ExtractionRule(id="x", min_confidence=0.9)), 1, facts(extraction_flags=("f",)),
                        snapshot())  # fmt: skip
    assert decision.summary == "extraction needs review: f"


def test_a_decision_serialises_for_the_decision_log() -> None:
    decision = evaluate(document(OVER_50, tiers=True), 7, facts(amount=D(5000)), snapshot())
    dumped = decision.model_dump(mode="json")
    assert dumped["action"] == "require_approval"
    assert dumped["tier"]["id"] == "medium"
    assert dumped["reasons"] == [
        {
            "rule": "over-50",
            "message": "5000 USD is over the per-invoice limit of 50 USD",
            "inputs": {"amount": "5000", "max_amount": "50"},
        }
    ]
    assert type(decision).model_validate_json(decision.model_dump_json()) == decision


def test_every_rule_kind_has_a_check() -> None:
    assert set(_CHECKS) == set(get_args(get_args(Rule)[0]))


@pytest.mark.parametrize("kind", ["credit_note", "correction", "reminder", None])
def test_a_credit_note_blocks_under_any_policy_and_other_kinds_do_not(kind: str | None) -> None:
    from policies.evaluator import CREDIT_NOTE_GUARD
    from policies.rules import AllowRule

    allow_everything = document(AllowRule(id="all"))
    decision = evaluate(allow_everything, 1, facts(document_kind=kind), snapshot())
    if kind == "credit_note":
        assert decision.action is Action.BLOCK and [r.rule for r in decision.reasons] == [CREDIT_NOTE_GUARD]
    else:
        assert decision.action is Action.ALLOW
