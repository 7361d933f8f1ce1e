"""Re-running past `evaluate` decisions: to explain one (same policy version, same facts, same
snapshot: the same answer, or the log was tampered with or the engine changed), or to dry-run a draft
policy against what was really decided.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.policy_versions import load_policy_version
from finance.models import Decision as DecisionRow
from policies.evaluator import evaluate
from policies.schema import Decision, InvoiceFacts, PolicyDocument, TreasurySnapshot


@dataclass(frozen=True)
class Replay:
    invoice_id: uuid.UUID
    recorded_action: str
    recorded_version: int | None
    replayed: Decision | None  # None when the row predates stored facts and snapshots
    problem: str | None = None

    @property
    def changed(self) -> bool:
        return self.replayed is not None and self.replayed.action.value != self.recorded_action


def _inputs(row: DecisionRow) -> tuple[InvoiceFacts, TreasurySnapshot] | str:
    details = row.details or {}
    if "facts" not in details or "snapshot" not in details:
        return "this decision was recorded without its facts and snapshot"
    try:
        return InvoiceFacts.model_validate(details["facts"]), TreasurySnapshot.model_validate(details["snapshot"])
    except ValidationError as exc:
        return f"the recorded facts no longer validate: {exc.errors()[0]['msg']}"


def replay_with(row: DecisionRow, document: PolicyDocument, version: int) -> Replay:
    inputs = _inputs(row)
    recorded_version = (row.details or {}).get("policy_version")
    if isinstance(inputs, str):
        return Replay(row.invoice_id, row.outcome, recorded_version, None, inputs)
    facts, snapshot = inputs
    return Replay(row.invoice_id, row.outcome, recorded_version, evaluate(document, version, facts, snapshot))


async def replay_recorded(session: AsyncSession, row: DecisionRow) -> Replay:
    """The decision again, under the very policy version that made it."""
    version = (row.details or {}).get("policy_version")
    policy = await load_policy_version(session, version) if isinstance(version, int) else None
    if policy is None:
        return Replay(row.invoice_id, row.outcome, version, None, f"policy version {version} is not stored")
    return replay_with(row, policy.document, policy.version)


async def latest_evaluations(session: AsyncSession, limit: int) -> list[DecisionRow]:
    """The most recent `evaluate` decision of each of the latest `limit` invoices."""
    latest = (
        select(func.max(DecisionRow.id))
        .where(DecisionRow.step == "evaluate", DecisionRow.invoice_id.is_not(None))
        .group_by(DecisionRow.invoice_id)
        .order_by(func.max(DecisionRow.id).desc())
        .limit(limit)
    )
    rows = await session.scalars(select(DecisionRow).where(DecisionRow.id.in_(latest)).order_by(DecisionRow.id.desc()))
    return list(rows)
