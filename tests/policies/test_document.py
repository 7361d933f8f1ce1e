"""Validation of the policy document: every refusal names the field it is about."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from policies.document import ApprovalTier, ApproverGroup, PolicyDocument, describe_errors
from policies.rules import AllowRule
from tests.policies.builders import D


def valid() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "currency": "USD",
        "rules": [
            {"id": "limit", "kind": "amount_limit", "max_amount": "5000", "action": "require_approval"},
            {"id": "velocity", "kind": "velocity", "scope": "vendor", "window": "week", "max_amount": "20000"},
            {"id": "budget", "kind": "budget", "scope": "category", "target": "hosting", "monthly_amount": "9000"},
            {"id": "extraction", "kind": "extraction", "min_confidence": 0.5},
            {"id": "runway", "kind": "runway_floor", "min_months": "1"},
            {"id": "ok", "kind": "allow", "max_amount": "5000", "vendor_categories": ["hosting"]},
        ],
        "groups": {"finance": {"members": ["a@example.com", "b@example.com"], "description": "Finance"}},
        "tiers": [
            {"id": "small", "min_amount": "0", "max_amount": "5000", "group": "finance", "quorum": 1},
            {"id": "large", "min_amount": "5000", "max_amount": None, "group": "finance", "quorum": 2},
        ],
        "default_action": "require_approval",
    }


def with_change(path: str, value: Any) -> dict[str, Any]:
    """A valid document with one value replaced: path like "rules.0.max_amount" or "tiers.1" (a whole item)."""
    document = copy.deepcopy(valid())
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    target: Any = document
    for part in parents:
        target = target[part]
    target[last] = value
    return document


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        PolicyDocument.model_validate_json(json.dumps(document))
    return describe_errors(refused.value)


def test_the_valid_document_is_valid() -> None:
    policy = PolicyDocument.model_validate(valid())
    assert [rule.kind for rule in policy.rules] == [
        "amount_limit",
        "velocity",
        "budget",
        "extraction",
        "runway_floor",
        "allow",
    ]


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("duplicate rule id", with_change("rules.1.id", "limit"), "rules[1].id: 'limit' is already used by rules[0]"),
    ("overlapping tiers", with_change("tiers.1.min_amount", "4000"),
     "tiers[1]: band [4000, ∞) overlaps tiers[0] 'small' [0, 5000)"),
    ("identical bands", with_change("tiers.1", {**valid()["tiers"][0], "id": "again"}),
     "tiers[1]: band [0, 5000) overlaps"),
    ("min equals max", with_change("tiers.0.min_amount", "5000"),
     "tiers[0]: max_amount 5000 must be greater than min_amount 5000"),
    ("min above max", with_change("tiers.1.max_amount", "4000"), "tiers[1]: max_amount 4000 must be greater than"),
    ("quorum zero", with_change("tiers.0.quorum", 0), "tiers[0].quorum: Input should be greater than or equal to 1"),
    ("quorum above members", with_change("tiers.1.quorum", 3),
     "tiers[1].quorum: 3 exceeds the 2 member(s) of group 'finance'"),
    ("unknown group", with_change("tiers.0.group", "board"), "tiers[0].group: unknown group 'board' (known: finance)"),
    ("duplicate tier id", with_change("tiers.1.id", "small"), "tiers[1].id: 'small' is already used by tiers[0]"),
    ("zero limit", with_change("rules.0.max_amount", "0"), "rules[0].max_amount: Input should be greater than 0"),
    ("negative velocity", with_change("rules.1.max_amount", "-5"), "rules[1].max_amount: Input should be greater"),
    ("zero budget", with_change("rules.2.monthly_amount", "0"), "rules[2].monthly_amount: Input should be greater"),
    ("zero allowance", with_change("rules.5.max_amount", "0"), "rules[5].max_amount: Input should be greater than 0"),
    ("negative tier min", with_change("tiers.0.min_amount", "-1"), "tiers[0].min_amount: Input should be greater"),
    ("zero runway floor", with_change("rules.4.min_months", "0"), "rules[4].min_months: Input should be greater"),
    ("absurd runway floor", with_change("rules.4.min_months", "5000"), "rules[4].min_months: Input should be less"),
    ("absurd limit", with_change("rules.0.max_amount", "1000000000000000.01"),
     "rules[0].max_amount: Input should be less than or equal to 1000000000000000"),
    ("absurd tier", with_change("tiers.1.max_amount", str(10**16)), "tiers[1].max_amount: Input should be less"),
    ("not a number", with_change("rules.0.max_amount", "five"), "rules[0].max_amount: Input should be a valid decimal"),
    ("infinite limit", with_change("rules.0.max_amount", "Infinity"), "rules[0].max_amount: Input should be a finite"),
    ("default allow", with_change("default_action", "allow"),
     "default_action: default_action must be require_approval or block (fail closed), not allow"),
    ("unknown kind", with_change("rules.0.kind", "teleport"), "rules[0]: Input tag 'teleport' found using 'kind'"),
    ("missing kind", with_change("rules.0", {"id": "x", "max_amount": "1"}), "rules[0]: Unable to extract tag"),
    ("confidence above 1", with_change("rules.3.min_confidence", 1.5), "rules[3].min_confidence: Input should be less"),
    ("confidence below 0", with_change("rules.3.min_confidence", -0.1), "rules[3].min_confidence: Input should be"),
    ("allow from a restriction", with_change("rules.0.action", "allow"),
     "rules[0].action: only an 'allow' rule may allow a payment"),
    ("unknown action", with_change("rules.0.action", "pay"), "rules[0].action: Input should be 'allow'"),
    ("reserved id", with_change("rules.0.id", "builtin:amount"), "rules[0].id: rule ids starting with 'builtin:'"),
    ("blank id", with_change("rules.0.id", "  "), "rules[0].id: String should have at least 1 character"),
    ("misspelt field", with_change("rules.0.max_amout", "5"), "rules[0].max_amout: Extra inputs are not permitted"),
    ("unknown schema", with_change("schema_version", 2), "schema_version: schema_version 2 is not supported"),
    ("lower-case currency", with_change("currency", "usd"), "currency: String should match pattern"),
    ("member twice", with_change("groups.finance.members", ["a@example.com", "A@example.com"]),
     "groups.finance.members: 'A@example.com' is listed twice"),
    ("empty group", with_change("groups.finance.members", []), "groups.finance.members: List should have at least 1"),
    ("empty category list", with_change("rules.5.vendor_categories", []), "rules[5].vendor_categories: List should"),
    ("unknown window", with_change("rules.1.window", "year"), "rules[1].window: Input should be 'day', 'week' or"),
    ("unknown scope", with_change("rules.2.scope", "team"), "rules[2].scope: Input should be 'category' or 'vendor'"),
    ("float limit", with_change("rules.0.max_amount", 5000.5), "rules[0].max_amount: give amounts as a string or an"),
    ("float tier edge", with_change("tiers.1.min_amount", 5000.0), "tiers[1].min_amount: give amounts as a string"),
    ("float runway", with_change("rules.4.min_months", 1.5), "rules[4].min_months: give amounts as a string"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_invalid_documents_are_refused_naming_the_field(document: dict[str, Any], expected: str) -> None:
    found = problems(document)
    assert any(line.startswith(expected) or expected in line for line in found), found


def test_integers_and_strings_are_amounts() -> None:
    policy = PolicyDocument.model_validate_json(json.dumps(with_change("rules.0.max_amount", 5000)))
    assert policy.rules[0].max_amount == D(5000)  # type: ignore[union-attr]


def test_the_docstring_example_is_a_valid_document() -> None:
    example = PolicyDocument.__doc__.split("Example\n    -------\n", 1)[1]  # type: ignore[union-attr]
    policy = PolicyDocument.model_validate_json(example)
    assert [rule.id for rule in policy.rules] == ["known-vendors", "big", "small"]


def test_every_cross_field_problem_is_reported_at_once() -> None:
    document = with_change("rules.1.id", "limit")
    document["tiers"][0]["group"] = "board"
    document["tiers"][1]["quorum"] = 5
    (line,) = problems(document)
    assert "rules[1].id" in line and "tiers[0].group" in line and "tiers[1].quorum" in line


def test_bands_may_leave_gaps_and_come_in_any_order() -> None:
    document = valid()
    document["tiers"] = [
        {"id": "large", "min_amount": "10000", "group": "finance", "quorum": 2},
        {"id": "small", "min_amount": "100", "max_amount": "5000", "group": "finance", "quorum": 1},
    ]
    assert [tier.id for tier in PolicyDocument.model_validate(document).tiers] == ["large", "small"]


def test_a_tier_contains_its_min_but_not_its_max() -> None:
    tier = ApprovalTier(id="t", min_amount=D(10), max_amount=D(20), group="g", quorum=1)
    assert [tier.contains(D(x)) for x in ("9.99", "10", "19.99", "20")] == [False, True, True, False]
    open_ended = ApprovalTier(id="t", min_amount=D(10), group="g", quorum=1)
    assert open_ended.contains(D(10**15)) and open_ended.band == "[10, ∞)"


def test_rule_defaults_fail_closed() -> None:
    policy = PolicyDocument.model_validate(
        {
            "currency": "EUR",
            "rules": [
                {"id": "u", "kind": "unknown_vendor"},
                {"id": "c", "kind": "currency"},
                {"id": "f", "kind": "funds"},
                {"id": "d", "kind": "duplicate"},
                {"id": "p", "kind": "payee_change"},
                {"id": "x", "kind": "extraction", "min_confidence": 0.7},
                {"id": "l", "kind": "amount_limit", "max_amount": "1"},
            ],
        }
    )
    actions = {rule.id: rule.action.value for rule in policy.rules}
    assert actions == {
        "u": "block",
        "c": "block",
        "f": "block",
        "d": "block",
        "p": "require_approval",
        "x": "require_approval",
        "l": "require_approval",
    }
    assert policy.rules[3].possible_action.value == "require_approval"  # type: ignore[union-attr]
    assert policy.default_action.value == "require_approval" and policy.schema_version == 1
    assert policy.groups == {} and policy.tiers == [] and all(rule.enabled for rule in policy.rules)


def test_models_refuse_bad_values_when_built_in_python_too() -> None:
    with pytest.raises(ValidationError, match="max_amount"):
        AllowRule(id="a", max_amount=D(-1))
    with pytest.raises(ValidationError, match="listed twice"):
        ApproverGroup(members=["x", "x"])


def test_the_document_is_immutable() -> None:
    policy = PolicyDocument.model_validate(valid())
    with pytest.raises(ValidationError):
        policy.currency = "EUR"  # type: ignore[misc]
