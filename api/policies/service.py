"""Policy changes for ops: validate, draft, dry-run, publish. Documents are validated here, before the
store sees them, so nothing that would not evaluate is ever saved or made active. Whether a publish applies at
once or waits for a second person is decided below the API, by `finance.policy_changes`."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agents.policy_replay import latest_evaluations, replay_with
from agents.policy_versions import load_active_policy
from api.policies.schemas import DryRunChange, DryRunOut
from finance import policy_changes
from finance.identity import Actor
from finance.models import PolicyVersion
from finance.policy_store import PolicyConflict, PolicyStore
from policies.rules import AllowRule, AmountLimitRule, VelocityRule
from policies.schema import PolicyDocument

# The rule ids the per-invoice-limit shortcut edits (the starter policy's names for them).
LIMIT_RULE_ID = "per-invoice-limit"
ALLOW_RULE_ID = "within-limit"
# The starter's weekly spend per vendor is the limit too; it follows the limit while nobody has set it apart.
VELOCITY_RULE_ID = "velocity-vendor-week"


def validate_document(document: dict[str, Any]) -> PolicyDocument:
    return policy_changes.parse(document)


async def create_draft(
    session: AsyncSession, document: dict[str, Any], actor: Actor, comment: str | None
) -> PolicyVersion:
    parsed = validate_document(document)
    return await PolicyStore(session).create_draft(
        parsed.model_dump(mode="json"), actor.name, comment, created_by_user_id=actor.user_id
    )


async def update_draft(
    session: AsyncSession, draft_id: uuid.UUID, document: dict[str, Any], comment: str | None
) -> PolicyVersion:
    parsed = validate_document(document)
    return await PolicyStore(session).update_draft(draft_id, parsed.model_dump(mode="json"), comment)


async def publish(session: AsyncSession, draft_id: uuid.UUID, actor: Actor) -> PolicyVersion:
    """ACTIVE when the draft only tightens; PROPOSED, awaiting a second person, when it loosens anything. The
    document is validated again: the engine may have tightened its rules since the draft was saved."""
    return await policy_changes.publish(session, draft_id, actor)


async def dry_run(session: AsyncSession, document: PolicyDocument, limit: int) -> DryRunOut:
    """What would change if `document` were live: every recent decision re-evaluated on its own facts
    and snapshot, and compared with what was decided."""
    replays = [replay_with(row, document, version=0) for row in await latest_evaluations(session, limit)]
    changes = [
        DryRunChange(
            invoice_id=r.invoice_id,
            recorded=r.recorded_action,
            would_be=r.replayed.action.value,
            recorded_policy_version=r.recorded_version,
            reasons=[reason.message for reason in r.replayed.reasons],
        )
        for r in replays
        if r.changed
    ]
    replayable = [r for r in replays if r.replayed is not None]
    return DryRunOut(
        evaluated=len(replayable),
        not_replayable=len(replays) - len(replayable),
        unchanged=len(replayable) - len(changes),
        transitions=dict(Counter(f"{c.recorded} -> {c.would_be}" for c in changes)),
        changes=changes,
    )


async def current_limit(session: AsyncSession) -> Decimal:
    active = await load_active_policy(session)
    rule = _limit_rule(active.document) if active else None
    if rule is None:
        raise PolicyConflict(f"the active policy has no amount_limit rule {LIMIT_RULE_ID!r}")
    return rule.max_amount


async def set_limit(session: AsyncSession, new_limit: Decimal, actor: Actor) -> PolicyVersion:
    """The original design's one-number setting, done the safe way: a new version whose per-invoice limit (and
    the matching allowance, and the weekly spend per vendor while it equals the limit) is `new_limit`,
    everything else carried over, published like any other draft. A lower limit applies at once (ACTIVE); a
    higher one loosens a control and waits for a second person (PROPOSED)."""
    active = await load_active_policy(session)
    current = _limit_rule(active.document) if active else None
    if active is None or current is None:
        raise PolicyConflict(f"the active policy has no amount_limit rule {LIMIT_RULE_ID!r} to change")
    rules = []
    for rule in active.document.rules:
        if rule.id == LIMIT_RULE_ID or (rule.id == ALLOW_RULE_ID and isinstance(rule, AllowRule)):
            rule = rule.model_copy(update={"max_amount": new_limit})
        elif rule.id == VELOCITY_RULE_ID and isinstance(rule, VelocityRule) and rule.max_amount == current.max_amount:
            rule = rule.model_copy(update={"max_amount": new_limit})
        rules.append(rule)
    document = validate_document(active.document.model_copy(update={"rules": rules}).model_dump(mode="json"))
    draft = await PolicyStore(session).create_draft(
        document.model_dump(mode="json"),
        actor.name,
        f"per-invoice limit {current.max_amount} -> {new_limit}",
        created_by_user_id=actor.user_id,
    )
    return await policy_changes.publish(session, draft.id, actor)


def _limit_rule(document: PolicyDocument) -> AmountLimitRule | None:
    return next((r for r in document.rules if r.id == LIMIT_RULE_ID and isinstance(r, AmountLimitRule)), None)
