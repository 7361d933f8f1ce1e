from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.evaluator import evaluate
from policies.schema import Action, InvoiceFacts, PolicyDocument, TreasurySnapshot

POLICY = PolicyDocument(per_invoice_limit=Decimal("5000"))
RICH = TreasurySnapshot(spendable=Decimal("1000000"))


def facts(**overrides) -> InvoiceFacts:  # noqa: ANN003
    base = {"amount": Decimal("100"), "currency": "USD", "vendor_registered": True, "invoice_number": "A-1"}
    return InvoiceFacts(**{**base, **overrides})


@pytest.mark.parametrize(
    ("invoice", "treasury", "action", "rule"),
    [
        (facts(), RICH, Action.ALLOW, "per_invoice_limit"),
        (facts(amount=Decimal("5000")), RICH, Action.ALLOW, "per_invoice_limit"),
        (facts(amount=Decimal("5000.01")), RICH, Action.REQUIRE_APPROVAL, "per_invoice_limit"),
        (facts(amount=None), RICH, Action.BLOCK, "amount_present"),
        (facts(amount=Decimal("-10")), RICH, Action.BLOCK, "amount_positive"),
        (facts(amount=Decimal("0")), RICH, Action.BLOCK, "amount_positive"),
        (facts(vendor_registered=False), RICH, Action.BLOCK, "known_vendor"),
        (facts(currency="EUR"), RICH, Action.BLOCK, "currency"),
        (facts(currency=None), RICH, Action.BLOCK, "currency"),
        (facts(duplicate_of="abc"), RICH, Action.BLOCK, "duplicate"),
        (facts(amount=Decimal("900")), TreasurySnapshot(spendable=Decimal("899.99")), Action.BLOCK, "funds"),
        (facts(amount=Decimal("1e15")), RICH, Action.BLOCK, "funds"),
    ],
)
def test_rules(invoice: InvoiceFacts, treasury: TreasurySnapshot, action: Action, rule: str) -> None:
    decision = evaluate(POLICY, invoice, treasury)
    assert decision.action == action
    assert rule in {r.rule for r in decision.reasons}
    assert decision.policy_version == POLICY.version


def test_over_limit_can_be_configured_to_block() -> None:
    strict = PolicyDocument(per_invoice_limit=Decimal("10"), over_limit_action=Action.BLOCK)
    decision = evaluate(strict, facts(amount=Decimal("11")), RICH)
    assert decision.action == Action.BLOCK
    assert decision.reasons[0].inputs == {"amount": "11", "limit": "10"}


def test_block_outranks_approval_and_reports_every_blocking_rule() -> None:
    decision = evaluate(POLICY, facts(amount=Decimal("9000"), vendor_registered=False, currency="EUR"), RICH)
    assert decision.action == Action.BLOCK
    assert {r.rule for r in decision.reasons} == {"known_vendor", "currency"}


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(amount=amounts, limit=amounts, raise_by=amounts)
def test_raising_the_limit_never_makes_a_decision_stricter(amount: Decimal, limit: Decimal, raise_by: Decimal) -> None:
    severity = {Action.ALLOW: 0, Action.REQUIRE_APPROVAL: 1, Action.BLOCK: 2}
    before = evaluate(PolicyDocument(per_invoice_limit=limit), facts(amount=amount), RICH)
    after = evaluate(PolicyDocument(per_invoice_limit=limit + raise_by), facts(amount=amount), RICH)
    assert severity[after.action] <= severity[before.action]


@given(amount=amounts, limit=amounts)
def test_never_allows_above_the_limit(amount: Decimal, limit: Decimal) -> None:
    decision = evaluate(PolicyDocument(per_invoice_limit=limit), facts(amount=amount), RICH)
    if decision.action == Action.ALLOW:
        assert amount <= limit
