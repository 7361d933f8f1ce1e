"""The shipped documents: valid, JSON round-trippable, and the starter behaves as the spine did."""

from __future__ import annotations

import typing
from decimal import Decimal

import pytest
from pydantic import ValidationError

from policies.actions import Action
from policies.defaults import realistic_policy, starter_policy
from policies.document import PolicyDocument
from policies.evaluator import AMOUNT_GUARD, DEFAULT_RULE, evaluate
from policies.rules import Rule
from tests.policies.builders import D, facts, snapshot

STARTER = starter_policy(D(5000))
RICH = snapshot(balance=D(1_000_000), monthly_burn=D(10_000))


@pytest.mark.parametrize("policy", [STARTER, starter_policy(D("250.50"), "EUR"), realistic_policy()])
def test_json_round_trip(policy: PolicyDocument) -> None:
    stored = policy.model_dump_json()
    assert PolicyDocument.model_validate_json(stored) == policy
    assert PolicyDocument.model_validate_json(stored).model_dump_json() == stored


@pytest.mark.parametrize(
    ("invoice", "treasury", "action", "rules"),
    [
        (facts(), RICH, Action.ALLOW, ["within-limit"]),
        (facts(amount=D(5000)), RICH, Action.ALLOW, ["within-limit"]),
        (facts(amount=D("5000.01")), RICH, Action.REQUIRE_APPROVAL, ["velocity-vendor-week", "per-invoice-limit"]),
        (facts(amount=None), RICH, Action.BLOCK, [AMOUNT_GUARD]),
        (facts(amount=D(-10)), RICH, Action.BLOCK, [AMOUNT_GUARD]),
        (facts(amount=D(0)), RICH, Action.BLOCK, [AMOUNT_GUARD]),
        (facts(vendor_registered=False), RICH, Action.BLOCK, ["unknown-vendor"]),
        (facts(currency="EUR"), RICH, Action.BLOCK, ["currency"]),
        (facts(currency=None), RICH, Action.BLOCK, ["currency"]),
        (facts(duplicate_of="abc"), RICH, Action.BLOCK, ["duplicate"]),
        (facts(possible_duplicate_of="abc"), RICH, Action.REQUIRE_APPROVAL, ["duplicate"]),
        (facts(payee_change="new IBAN"), RICH, Action.REQUIRE_APPROVAL, ["payee-change"]),
        (facts(vendor_on_hold="address change pending"), RICH, Action.REQUIRE_APPROVAL, ["payee-change"]),
        (facts(extraction_flags=("total not found",)), RICH, Action.REQUIRE_APPROVAL, ["extraction"]),
        (facts(extraction_confidence=0.49), RICH, Action.REQUIRE_APPROVAL, ["extraction"]),
        (facts(extraction_confidence=0.5), RICH, Action.ALLOW, ["within-limit"]),
        (facts(amount=D(900)), snapshot(balance=D("899.99")), Action.BLOCK, ["funds"]),
        (facts(amount=D(10**15)), RICH, Action.BLOCK, ["funds"]),
        # 20k spendable, 10k burn: paying 10k leaves exactly a month, a cent more leaves less.
        (facts(amount=D(4000)), snapshot(balance=D(14000), monthly_burn=D(10000)), Action.ALLOW, ["within-limit"]),
        (facts(amount=D("4000.01")), snapshot(balance=D(14000), monthly_burn=D(10000)), Action.REQUIRE_APPROVAL,
         ["runway-floor"]),
        (facts(amount=D(9000), vendor_registered=False, currency="EUR"), RICH, Action.BLOCK,
         ["unknown-vendor", "currency"]),
    ],
)  # fmt: skip
def test_starter_policy_reproduces_the_spine(invoice, treasury, action, rules) -> None:
    decision = evaluate(STARTER, 3, invoice, treasury)
    assert decision.action == action
    assert [reason.rule for reason in decision.reasons] == rules
    assert decision.policy_version == 3


def test_starter_sends_a_split_bill_to_a_person() -> None:
    """Two bills of 3,000 from one vendor in a week: each is under the 5,000 limit, together they are not."""
    first = evaluate(STARTER, 1, facts(amount=D(3000)), RICH)
    assert first.action == Action.ALLOW
    after_first = snapshot(balance=D(1_000_000), vendor_spend={"day": D(3000), "week": D(3000), "month": D(3000)})
    second = evaluate(STARTER, 1, facts(amount=D(3000)), after_first)
    assert second.action == Action.REQUIRE_APPROVAL
    assert [reason.rule for reason in second.reasons] == ["velocity-vendor-week"]
    a_week_later = snapshot(balance=D(1_000_000), vendor_spend={"day": D(0), "week": D(0), "month": D(3000)})
    assert evaluate(STARTER, 1, facts(amount=D(3000)), a_week_later).action == Action.ALLOW


@pytest.mark.parametrize(
    ("amount", "tier", "quorum"),
    [(D(1), "standard", 1), (D(5000), "over-limit", 1), (D(49_999), "over-limit", 1), (D(50_000), "large", 2)],
)
def test_starter_tiers(amount: Decimal, tier: str, quorum: int) -> None:
    decision = evaluate(STARTER, 1, facts(amount=amount, payee_change="new IBAN"), RICH)
    assert decision.tier is not None
    assert (decision.tier.id, decision.tier.quorum, decision.tier.group) == (tier, quorum, "finance")


def test_starter_shape() -> None:
    assert [rule.kind for rule in STARTER.rules] == [
        "unknown_vendor",
        "currency",
        "duplicate",
        "payee_change",
        "new_payee",
        "separation_of_duties",
        "extraction",
        "funds",
        "runway_floor",
        "velocity",
        "amount_limit",
        "allow",
    ]
    assert STARTER.groups["finance"].members == ["cfo@example.com", "controller@example.com"]
    assert STARTER.default_action == Action.REQUIRE_APPROVAL and STARTER.currency == "USD"


@pytest.mark.parametrize("limit", [D(0), D(-1), D(10**15)])
def test_starter_refuses_a_limit_it_cannot_express(limit: Decimal) -> None:
    with pytest.raises(ValidationError):
        starter_policy(limit)


def test_realistic_policy_uses_every_rule_kind() -> None:
    policy = realistic_policy()
    assert 18 <= len(policy.rules) <= 25
    all_kinds = {arg.model_fields["kind"].default for arg in typing.get_args(typing.get_args(Rule)[0])}
    assert {rule.kind for rule in policy.rules} == all_kinds
    assert any(not rule.enabled for rule in policy.rules)


def test_realistic_tiers_cover_every_amount_without_gaps() -> None:
    tiers = sorted(realistic_policy().tiers, key=lambda tier: tier.min_amount)
    assert tiers[0].min_amount == 0 and tiers[-1].max_amount is None
    assert all(lower.max_amount == upper.min_amount for lower, upper in zip(tiers, tiers[1:], strict=False))


def test_realistic_policy_decides_plausibly() -> None:
    policy = realistic_policy()
    small_hosting = facts(amount=D(1200), vendor_category="hosting", vendor_id="globex")
    assert evaluate(policy, 1, small_hosting, RICH).action == Action.ALLOW
    marketing = facts(amount=D(1200), vendor_category="marketing", vendor_id="globex")
    assert [r.rule for r in evaluate(policy, 1, marketing, RICH).reasons] == [DEFAULT_RULE]
    huge = evaluate(policy, 1, facts(amount=D(300_000), vendor_category="hosting"), snapshot(balance=D(10**8)))
    assert huge.action == Action.BLOCK and [r.rule for r in huge.reasons] == ["single-invoice-ceiling"]
