"""Publishing a policy version under invariant 10: no single person loosens a control.

A draft that, against the active version, only tightens (or changes nothing that matters) is published at once.
A draft that loosens anything (`policies.loosening`) becomes a *proposal*: it records who proposed it, against
which active version, and every loosening in words, and it is published only when a different person approves
it. "Different" compares user ids, never names: one person holding an API key and a session is still one person.
Either person may reject a proposal. A proposal approved after the active version changed is refused: the
loosenings the approver read were computed against a version that is no longer the one being replaced.

This is the only module that makes a version active, so no route, command or form can publish around it.
Every step is a decision in the log. The caller commits.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.decisions import DecisionLog
from finance.errors import FourEyesRequired, NotFound, TreasurerError
from finance.identity import Actor, require_other_person
from finance.models import PolicyStatus, PolicyVersion, utcnow
from finance.policy_store import PolicyConflict, PolicyStore
from policies.document import PolicyDocument, describe_errors
from policies.loosening import loosenings

# Fixed advisory-lock key reserved for publishing policies: publishes, proposals and approvals are serialised,
# so the active version read while judging a change is still the active version when the change is applied.
_PUBLISH_LOCK_KEY = 0x706F_6C69_6379


class PolicyInvalid(TreasurerError):
    status_code = 422
    code = "policy_invalid"


class StaleProposal(PolicyConflict):
    code = "stale_proposal"


def parse(document: dict[str, Any]) -> PolicyDocument:
    """The stored JSON as a validated document, or PolicyInvalid naming every bad field."""
    try:
        return PolicyDocument.model_validate(document)
    except ValidationError as exc:
        raise PolicyInvalid("; ".join(describe_errors(exc))) from exc


async def publish(session: AsyncSession, policy_id: uuid.UUID, actor: Actor) -> PolicyVersion:
    """Publish a draft: ACTIVE at once when it loosens nothing, PROPOSED (awaiting a second person) otherwise.
    A proposal gone stale (the active version changed since) may be published again: it is judged afresh
    against the current active version and proposed anew, by the caller."""
    await _lock(session)
    row = await _locked(session, policy_id)
    active = await PolicyStore(session).active()
    if row.status == PolicyStatus.PROPOSED:
        if row.base_version == _version(active):
            raise PolicyConflict(f"policy {policy_id} already awaits a second person's approval")
    elif row.status != PolicyStatus.DRAFT:
        raise PolicyConflict(_not_publishable(row))
    reasons = _loosenings(active, parse(row.document))
    if reasons:
        return await _propose(session, row, active, reasons, actor)
    if row.status == PolicyStatus.PROPOSED:
        # Judged afresh against a newer active version, it no longer loosens anything: not a proposal any more.
        row.proposed_by = row.proposed_by_user_id = row.proposed_at = row.base_version = row.loosenings = None
    previous = _version(active)
    await _activate(session, row, actor.name)
    said = f"{actor.name} published policy version {row.version}: it loosens nothing, so it applies at once"
    await _log(session, row, "policy_published", said, actor, previous_version=previous)
    return row


async def approve(session: AsyncSession, policy_id: uuid.UUID, actor: Actor) -> PolicyVersion:
    """A second person approves a proposal: it is published. The proposer's own approval is refused
    (FourEyesRequired) whatever credential they use, and so is an actor with no user id."""
    await _lock(session)
    row = await _proposal(session, policy_id)
    # A proposal with no recorded proposer cannot be told apart from its approver: refuse rather than guess.
    proposer = str(row.proposed_by_user_id) if row.proposed_by_user_id else None
    if proposer is None:
        raise FourEyesRequired("this proposal records no proposer, so no one can be its second person")
    require_other_person(
        actor, [proposer], "a policy change that loosens a control must be approved by someone other than its proposer"
    )
    current = _version(await PolicyStore(session).active())
    if current != row.base_version:
        raise StaleProposal(
            f"the active policy changed since this was proposed (version {row.base_version} -> {current}); "
            "publish it again to propose it against the current version"
        )
    await _activate(session, row, actor.name)
    row.approved_by, row.approved_by_user_id, row.approved_at = actor.name, actor.user_id, row.published_at
    said = f"{actor.name} approved the change proposed by {row.proposed_by}; published as version {row.version}"
    await _log(session, row, "policy_approved", said, actor, previous_version=row.base_version)
    return row


async def reject(session: AsyncSession, policy_id: uuid.UUID, actor: Actor, reason: str | None = None) -> PolicyVersion:
    """Either person (the proposer withdrawing, or a reviewer refusing) closes a proposal; nothing changes."""
    await _lock(session)
    row = await _proposal(session, policy_id)
    row.status = PolicyStatus.REJECTED
    row.rejected_by, row.rejected_by_user_id, row.rejected_at = actor.name, actor.user_id, utcnow()
    said = f"{actor.name} rejected the change proposed by {row.proposed_by}" + (f": {reason}" if reason else "")
    await _log(session, row, "policy_rejected", said, actor)
    return row


async def install_starter(session: AsyncSession, document: PolicyDocument, *, by: str, comment: str) -> PolicyVersion:
    """The first version of a new installation, made from its configuration rather than by a person. Allowed
    only while no version was ever published, so it can never replace (or loosen) a policy."""
    await _lock(session)
    if await session.scalar(select(func.count()).where(PolicyVersion.version.is_not(None))):
        raise PolicyConflict("a policy was already published; the starter policy is only for a new installation")
    row = await PolicyStore(session).create_draft(document.model_dump(mode="json"), by, comment)
    await _activate(session, row, by)
    return row


def _loosenings(active: PolicyVersion | None, new: PolicyDocument) -> list[str]:
    if active is None:
        return loosenings(None, new)
    try:
        old = parse(active.document)
    except PolicyInvalid as exc:
        # Nothing can be proven against a version this engine no longer reads: fail closed.
        return [f"the active version {active.version} no longer validates ({exc.message}); nothing can be compared"]
    return loosenings(old, new)


async def _propose(
    session: AsyncSession, row: PolicyVersion, active: PolicyVersion | None, reasons: list[str], actor: Actor
) -> PolicyVersion:
    if actor.user_id is None:
        # Nobody could ever be its second person: the treasurer's own steps never loosen a control.
        raise FourEyesRequired("a change that loosens a control must be proposed by a person")
    row.status = PolicyStatus.PROPOSED
    row.proposed_by, row.proposed_by_user_id, row.proposed_at = actor.name, actor.user_id, utcnow()
    row.base_version = _version(active)
    row.loosenings = reasons
    await session.flush()
    said = f"{actor.name} proposed a change that loosens {len(reasons)} control(s), so it needs a second person: "
    await _log(session, row, "policy_proposed", said + "; ".join(reasons), actor)
    return row


async def _activate(session: AsyncSession, row: PolicyVersion, by: str) -> None:
    # The partial unique index on the active status guarantees, whatever a racing transaction does, that there
    # are never two active versions; the advisory lock makes that race rare.
    latest = await session.scalar(select(func.max(PolicyVersion.version))) or 0
    await session.execute(
        update(PolicyVersion).where(PolicyVersion.status == PolicyStatus.ACTIVE).values(status=PolicyStatus.RETIRED)
    )
    row.status = PolicyStatus.ACTIVE
    row.version = latest + 1
    row.published_by = by
    row.published_at = utcnow()
    try:
        await session.flush()
    except IntegrityError as exc:
        raise PolicyConflict("another version was published at the same moment; try again") from exc


async def _lock(session: AsyncSession) -> None:
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK_KEY})


async def _locked(session: AsyncSession, policy_id: uuid.UUID) -> PolicyVersion:
    row = await session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.id == policy_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"no policy draft or proposal {policy_id}")
    return row


async def _proposal(session: AsyncSession, policy_id: uuid.UUID) -> PolicyVersion:
    row = await _locked(session, policy_id)
    if row.status != PolicyStatus.PROPOSED:
        raise PolicyConflict(f"policy {policy_id} is {row.status}, not a proposal awaiting approval")
    return row


def _not_publishable(row: PolicyVersion) -> str:
    if row.version is not None:
        return f"policy {row.id} is already published as version {row.version}"
    return f"policy {row.id} is {row.status}; only a draft can be published"


def _version(row: PolicyVersion | None) -> int | None:
    return row.version if row is not None else None


async def _log(
    session: AsyncSession, row: PolicyVersion, outcome: str, reason: str, actor: Actor, **extra: Any
) -> None:
    details: dict[str, Any] = {
        "policy_id": row.id,
        "version": row.version,
        "status": str(row.status),
        "user_id": actor.user_id,
        "proposed_by": row.proposed_by,
        "proposed_by_user_id": row.proposed_by_user_id,
        "base_version": row.base_version,
        "loosenings": row.loosenings or [],
        **extra,
    }
    log = DecisionLog(session)
    await log.append(invoice_id=None, step="policy", outcome=outcome, reason=reason, details=details, actor=actor.name)
