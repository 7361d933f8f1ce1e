"""Which changes from one policy document to the next LOOSEN a control, each told as a sentence for people.

Publishing a loosening needs a second person (invariant 10); a change that only tightens applies at once.
The comparison fails closed: a change it cannot prove to be a tightening (or neutral) is a loosening. Proven
neutral: reordering rules or tiers (the evaluator's action never depends on order), descriptions, and fields of
a rule that is disabled both before and after. Everything else is judged field by field below; a field this
module does not know (a future schema addition) is a loosening whenever it changes.

The guarantee, checked by a property test: when `loosenings(old, new)` is empty, for every invoice and treasury
snapshot `evaluate(new)` is at least as strict as `evaluate(old)` (block > require_approval > allow), and when
both ask for approval the tier's quorum is never lower.

Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from policies.actions import SEVERITY, Action
from policies.document import ApprovalTier, ApproverGroup, PolicyDocument
from policies.rules import AllowRule

FIRST_VERSION = "no policy is active yet: the first version decides everything"

# A judge answers "is `new` looser than `old`?" for one field.
Judge = Callable[[Any, Any], bool]


def _ceiling_raised(old: Decimal | None, new: Decimal | None) -> bool:
    # None is "no ceiling": the loosest value there is.
    if new is None:
        return old is not None
    return old is not None and new > old


def _floor_lowered(old: Any, new: Any) -> bool:
    return new < old


def _raised(old: Any, new: Any) -> bool:
    return new > old


def _weaker(old: Action, new: Action) -> bool:
    return SEVERITY[Action(new)] < SEVERITY[Action(old)]


def _changed(old: Any, new: Any) -> bool:
    return old != new


def _turned_on(old: bool, new: bool) -> bool:
    return new and not old


def _wider_categories(old: list[str] | None, new: list[str] | None) -> bool:
    # None covers every vendor; a list covers its categories, compared case-insensitively as the evaluator does.
    if new is None:
        return old is not None
    if old is None:
        return False
    return not {c.casefold() for c in new} <= {c.casefold() for c in old}


_NEUTRAL_RULE_FIELDS = frozenset({"id", "kind", "description", "enabled"})

# Per rule kind, the fields this module understands and how each can loosen. A field missing here is judged by
# `_changed`: any change is a loosening (fail closed).
_RULE_JUDGES: dict[str, dict[str, Judge]] = {
    "amount_limit": {"max_amount": _ceiling_raised, "action": _weaker},
    # A spend window or scope is not ordered (the snapshot's windows are separate figures): any change loosens.
    "velocity": {"scope": _changed, "window": _changed, "max_amount": _ceiling_raised, "action": _weaker},
    "budget": {"scope": _changed, "target": _changed, "monthly_amount": _ceiling_raised, "action": _weaker},
    "unknown_vendor": {"action": _weaker},
    "payee_change": {"action": _weaker},
    # A longer cooling-off period holds a new payout address longer: only a shorter one loosens.
    "new_payee": {"cooling_off_hours": _floor_lowered, "action": _weaker},
    "separation_of_duties": {"action": _weaker},
    "duplicate": {"action": _weaker, "possible_action": _weaker},
    "extraction": {"min_confidence": _floor_lowered, "action": _weaker},
    "currency": {"action": _weaker},
    "funds": {"action": _weaker},
    "runway_floor": {"min_months": _floor_lowered, "action": _weaker},
    "allow": {"max_amount": _ceiling_raised, "vendor_categories": _wider_categories},
}

_TIER_JUDGES: dict[str, Judge] = {
    # Moving a band edge moves invoices between tiers (or into a gap): not provably stricter.
    "min_amount": _changed,
    "max_amount": _changed,
    "group": _changed,
    "quorum": _floor_lowered,
    "initiator_may_approve": _turned_on,
    # More rejections needed before a request closes: harder to stop a payment.
    "rejections_to_close": _raised,
    # The escalation group's members become approvers: any change changes who may approve.
    "escalation_group": _changed,
}
_NEUTRAL_TIER_FIELDS = frozenset({"id"})


def loosenings(old: PolicyDocument | None, new: PolicyDocument) -> list[str]:
    """Every way `new` is looser than `old`, one human sentence each; empty when `new` only tightens (or
    changes nothing that matters). `old` None (no active policy yet) is a loosening in itself."""
    if old is None:
        return [FIRST_VERSION]
    found: list[str] = []
    handled = {"rules", "groups", "tiers", "default_action", "currency"}
    if _weaker(old.default_action, new.default_action):
        found.append(f"default_action: {_show(old.default_action)} -> {_show(new.default_action)}")
    if old.currency != new.currency:
        found.append(f"currency: {old.currency} -> {new.currency}")
    found += _unknown_fields("document", old, new, handled)
    found += _rules(old, new)
    found += _groups(old.groups, new.groups)
    found += _tiers(old.tiers, new.tiers)
    return found


def _rules(old: PolicyDocument, new: PolicyDocument) -> list[str]:
    found: list[str] = []
    before = {rule.id: rule for rule in old.rules}
    after = {rule.id: rule for rule in new.rules}
    for rule in old.rules:
        # Removing an allow rule, or a rule that was off anyway, can only leave the decision as strict or stricter.
        if rule.id not in after and rule.enabled and not isinstance(rule, AllowRule):
            found.append(f"rule {rule.id}: removed ({rule.kind}, action {_show(rule.action)})")
    for rule in new.rules:
        previous = before.get(rule.id)
        if previous is None:
            if isinstance(rule, AllowRule) and rule.enabled:
                found.append(f"rule {rule.id}: added allow rule ({_allowance(rule)})")
        else:
            found += _rule(previous, rule)
    return found


def _rule(old: Any, new: Any) -> list[str]:
    where = f"rule {new.id}"
    if old.kind != new.kind:
        return [f"{where}: kind {old.kind} -> {new.kind}"]
    if isinstance(new, AllowRule):
        if not new.enabled:
            return []
        if not old.enabled:
            return [f"{where}: enabled ({_allowance(new)})"]
    else:
        if not old.enabled:
            return []
        if not new.enabled:
            return [f"{where}: disabled"]
    return _fields(where, old, new, _RULE_JUDGES.get(new.kind, {}), _NEUTRAL_RULE_FIELDS)


def _groups(old: dict[str, ApproverGroup], new: dict[str, ApproverGroup]) -> list[str]:
    # Groups say who may approve: any change to who is in them (or which groups exist) is a loosening.
    found: list[str] = []
    for name in sorted(old.keys() - new.keys()):
        found.append(f"group {name}: removed")
    for name in sorted(new.keys() - old.keys()):
        found.append(f"group {name}: added ({', '.join(new[name].members)})")
    for name in sorted(old.keys() & new.keys()):
        was, now = set(old[name].members), set(new[name].members)
        if was != now:
            change = [f"+{m}" for m in sorted(now - was)] + [f"-{m}" for m in sorted(was - now)]
            found.append(f"group {name}: members changed ({', '.join(change)})")
        found += _unknown_fields(f"group {name}", old[name], new[name], {"members", "description"})
    return found


def _tiers(old: Sequence[ApprovalTier], new: Sequence[ApprovalTier]) -> list[str]:
    found: list[str] = []
    before = {tier.id: tier for tier in old}
    after = {tier.id: tier for tier in new}
    for tier in old:
        if tier.id not in after:
            found.append(f"tier {tier.id}: removed ({tier.band}, quorum {tier.quorum} of {tier.group})")
    for tier in new:
        previous = before.get(tier.id)
        if previous is None:
            found.append(f"tier {tier.id}: added ({tier.band}, quorum {tier.quorum} of {tier.group})")
        else:
            found += _fields(f"tier {tier.id}", previous, tier, _TIER_JUDGES, _NEUTRAL_TIER_FIELDS)
    return found


def _fields(where: str, old: BaseModel, new: BaseModel, judges: dict[str, Judge], neutral: frozenset[str]) -> list[str]:
    found: list[str] = []
    for field in type(new).model_fields:
        if field in neutral:
            continue
        was, now = getattr(old, field, None), getattr(new, field, None)
        if was == now:
            continue
        if judges.get(field, _changed)(was, now):
            found.append(f"{where}: {field} {_show(was)} -> {_show(now)}")
    return found


def _unknown_fields(where: str, old: BaseModel, new: BaseModel, known: set[str]) -> list[str]:
    return [
        f"{where}: {field} {_show(getattr(old, field, None))} -> {_show(getattr(new, field, None))}"
        for field in type(new).model_fields
        if field not in known and getattr(old, field, None) != getattr(new, field, None)
    ]


def _allowance(rule: AllowRule) -> str:
    amount = "any amount" if rule.max_amount is None else f"up to {_show(rule.max_amount)}"
    vendors = "any vendor" if rule.vendor_categories is None else f"categories {_show(rule.vendor_categories)}"
    return f"{amount}, {vendors}"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
