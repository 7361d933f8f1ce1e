"""Properties of the evaluator over random documents and facts: monotonicity, fail-closed, determinism."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from policies.actions import SEVERITY, Action
from policies.decision import Decision
from policies.document import PolicyDocument
from policies.evaluator import AMOUNT_GUARD, DEFAULT_RULE, evaluate
from policies.facts import InvoiceFacts, TreasurySnapshot
from policies.money import MAX_AMOUNT
from policies.rules import AllowRule, AmountLimitRule, BudgetRule, VelocityRule
from tests.policies.strategies import documents, invoices, snapshots

increase = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)


def severity(decision: Decision) -> int:
    return SEVERITY[decision.action]


def run(policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> Decision:
    return evaluate(policy, 1, invoice, treasury)


def with_rule(policy: PolicyDocument, index: int, **update: object) -> PolicyDocument:
    rules = list(policy.rules)
    rules[index] = type(rules[index]).model_validate({**rules[index].model_dump(), **update})
    return PolicyDocument.model_validate({**policy.model_dump(), "rules": rules})


@given(policy=documents(min_rules=1), invoice=invoices(), treasury=snapshots(), data=st.data(), by=increase)
def test_raising_a_limit_never_makes_the_decision_stricter(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, data: st.DataObject, by: Decimal
) -> None:
    limits = [i for i, rule in enumerate(policy.rules) if isinstance(rule, AmountLimitRule | VelocityRule | BudgetRule)]
    assume(limits)
    index = data.draw(st.sampled_from(limits))
    rule = policy.rules[index]
    field = "monthly_amount" if isinstance(rule, BudgetRule) else "max_amount"
    raised = with_rule(policy, index, **{field: min(getattr(rule, field) + by, MAX_AMOUNT)})
    assert severity(run(raised, invoice, treasury)) <= severity(run(policy, invoice, treasury))


@given(policy=documents(allowance=True), invoice=invoices(), treasury=snapshots(), data=st.data(), by=increase)
def test_raising_an_allowance_never_makes_the_decision_stricter(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, data: st.DataObject, by: Decimal
) -> None:
    allowances = [i for i, rule in enumerate(policy.rules) if isinstance(rule, AllowRule) and rule.max_amount]
    assume(allowances)
    index = data.draw(st.sampled_from(allowances))
    raised = with_rule(policy, index, max_amount=policy.rules[index].max_amount + by)  # type: ignore[union-attr]
    assert severity(run(raised, invoice, treasury)) <= severity(run(policy, invoice, treasury))


@given(policy=documents(), invoice=invoices(), treasury=snapshots(), by=increase, which=st.integers(0, 7))
def test_more_prior_spend_never_makes_the_decision_looser(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, by: Decimal, which: int
) -> None:
    fields = ["vendor_spend", "global_spend", "vendor_month_to_date", "category_month_to_date"]
    field = fields[which % 4]
    if field.endswith("_spend"):
        window = ["day", "week", "month"][which % 3]
        value: object = {**getattr(treasury, field), window: getattr(treasury, field)[window] + by}
    else:
        value = getattr(treasury, field) + by
    busier = treasury.model_copy(update={field: value})
    assert severity(run(policy, invoice, busier)) >= severity(run(policy, invoice, treasury))


@given(policy=documents(), invoice=invoices(), treasury=snapshots(), by=increase)
def test_a_larger_amount_never_makes_the_decision_looser(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, by: Decimal
) -> None:
    larger = invoice.model_copy(update={"amount": invoice.amount + by})  # type: ignore[operator]
    assert severity(run(policy, larger, treasury)) >= severity(run(policy, invoice, treasury))


@given(policy=documents(), invoice=invoices(), treasury=snapshots(), by=increase, reserve=st.booleans())
def test_less_spendable_never_makes_the_decision_looser(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, by: Decimal, reserve: bool
) -> None:
    if reserve:
        poorer = treasury.model_copy(update={"reserved": treasury.reserved + by})
    else:
        assume(treasury.balance >= by)
        poorer = treasury.model_copy(update={"balance": treasury.balance - by})
    assert severity(run(policy, invoice, poorer)) >= severity(run(policy, invoice, treasury))


@given(policy=documents(), invoice=invoices(positive=False), treasury=snapshots())
def test_allow_only_when_an_enabled_allow_rule_fired_and_nothing_stricter(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot
) -> None:
    decision = run(policy, invoice, treasury)
    allowances = {rule.id for rule in policy.rules if isinstance(rule, AllowRule) and rule.enabled}
    if decision.action == Action.ALLOW:
        assert decision.reasons and {reason.rule for reason in decision.reasons} <= allowances
        assert invoice.amount is not None and invoice.amount > 0
    if invoice.amount is None or invoice.amount <= 0:
        assert decision.action == Action.BLOCK and decision.reasons[0].rule == AMOUNT_GUARD


@given(policy=documents(), invoice=invoices(positive=False), treasury=snapshots())
def test_decision_shape(policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> None:
    decision = run(policy, invoice, treasury)
    ids = [rule.id for rule in policy.rules if rule.enabled]
    named = [reason.rule for reason in decision.reasons if reason.rule not in (AMOUNT_GUARD, DEFAULT_RULE)]
    assert decision.reasons
    assert set(named) <= set(ids)
    assert named == sorted(named, key=ids.index)  # document order
    if DEFAULT_RULE in [reason.rule for reason in decision.reasons]:
        assert len(decision.reasons) == 1 and decision.action == policy.default_action
    assert all(isinstance(v, str) for reason in decision.reasons for v in reason.inputs.values())
    assert (decision.tier is not None) == (decision.action == Action.REQUIRE_APPROVAL and bool(policy.tiers))


@given(policy=documents(), invoice=invoices(positive=False), treasury=snapshots(), seed=st.randoms())
def test_evaluation_is_deterministic_and_order_only_orders_reasons(
    policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot, seed: object
) -> None:
    first = run(policy, invoice, treasury)
    assert run(policy, invoice, treasury) == first
    assert run(PolicyDocument.model_validate_json(policy.model_dump_json()), invoice, treasury) == first
    shuffled_rules = list(policy.rules)
    seed.shuffle(shuffled_rules)  # type: ignore[attr-defined]
    shuffled = run(policy.model_copy(update={"rules": shuffled_rules}), invoice, treasury)
    assert shuffled.action == first.action and shuffled.tier == first.tier
    assert sorted(r.model_dump_json() for r in shuffled.reasons) == sorted(r.model_dump_json() for r in first.reasons)
