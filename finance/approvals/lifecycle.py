"""Time-driven changes to approval requests (reminders, escalation, expiry) and the one-time resume of
the waiting thread. Every function takes `now`, so tests drive the clock instead of sleeping.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from finance.approvals.requests import identity, owe_mail
from finance.approvals.votes import close
from finance.decisions import DecisionLog
from finance.models import ApprovalRequest, ApprovalStatus, ApprovalVote, PolicyVersion, as_utc

_ENDED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED, ApprovalStatus.CANCELLED)


@dataclass
class DueResult:
    request_id: uuid.UUID
    action: str | None = None  # expired | reminded | None (nothing due yet, or already closed)
    mails: tuple[uuid.UUID, ...] = ()
    next_due: datetime | None = None  # when to look again; None when the request needs no more timers
    ended: bool = False  # closed here: the thread must be woken to finish
    escalated_to: list[str] = field(default_factory=list)


def next_due(request: ApprovalRequest) -> datetime | None:
    if request.status != ApprovalStatus.PENDING:
        return None
    if request.remind_at is not None and request.reminded_at is None:
        return as_utc(request.remind_at)
    return as_utc(request.deadline)


async def process_due(session: AsyncSession, request_id: uuid.UUID, now: datetime) -> DueResult | None:
    """Expire or remind one request if its time has come. Returns None when another worker holds it:
    SKIP LOCKED lets many schedulers share the work without waiting on each other."""
    request = await session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if request is None:
        return None
    result = DueResult(request.id)
    if request.status != ApprovalStatus.PENDING:
        return result
    if now >= as_utc(request.deadline):
        result.action = "expired"
        result.ended = True
        result.mails = await close(
            session,
            request,
            ApprovalStatus.EXPIRED,
            f"no quorum by the deadline {as_utc(request.deadline).isoformat()}",
            by="treasurer",
            now=now,
        )
        return result
    if request.remind_at is not None and request.reminded_at is None and now >= as_utc(request.remind_at):
        result.action = "reminded"
        result.mails, result.escalated_to = await _remind(session, request, now)
    result.next_due = next_due(request)
    return result


async def _remind(session: AsyncSession, request: ApprovalRequest, now: datetime) -> tuple[tuple[uuid.UUID, ...], list]:
    voted = set(await session.scalars(select(ApprovalVote.approver).where(ApprovalVote.request_id == request.id)))
    waiting = [a for a in request.approvers if a not in voted]
    mails = await owe_mail(session, request, waiting, "reminder", now)
    escalated: list[str] = []
    if request.escalation_group:
        escalated = await _escalation_members(session, request, voted)
        if escalated:
            # A new list object: the JSON column notices reassignment, not in-place appends.
            request.approvers = [*request.approvers, *escalated]
            request.escalated_at = now
            mails += await owe_mail(session, request, escalated, "escalation", now)
    request.reminded_at = now
    await DecisionLog(session).append(
        invoice_id=request.invoice_id,
        step="approval",
        outcome="escalated" if escalated else "reminded",
        reason=f"reminded {len(waiting)} approver(s)" + (f"; escalated to {', '.join(escalated)}" if escalated else ""),
        details={"approval_request_id": str(request.id), "waiting": waiting, "escalated_to": escalated},
    )
    return mails, escalated


async def _escalation_members(session: AsyncSession, request: ApprovalRequest, voted: set[str]) -> list[str]:
    # The group as the policy version that opened the request defined it, like the approvers themselves.
    document = await session.scalar(
        select(PolicyVersion.document).where(PolicyVersion.version == request.policy_version)
    )
    group = ((document or {}).get("groups") or {}).get(request.escalation_group) or {}
    submitter = identity(request.submitted_by) if request.submitted_by else None
    return [
        m
        for m in dict.fromkeys(identity(x) for x in group.get("members", []))
        if m not in request.approvers and m not in voted and m != submitter
    ]


async def claim_resume(
    session: AsyncSession, request_id: uuid.UUID, *, now: datetime, lease: timedelta
) -> ApprovalRequest | None:
    """Take the right to resume a decided request's thread. The conditional UPDATE lets exactly one of
    any number of racing workers win; the lease lets another take over if the winner dies mid-run
    (a crash before the thread finishes leaves it at its checkpoint, and resuming again is safe)."""
    claimed = await session.scalar(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request_id,
            ApprovalRequest.status.in_(_ENDED),
            ApprovalRequest.closed_at.is_(None),
            or_(ApprovalRequest.resume_lease_until.is_(None), ApprovalRequest.resume_lease_until < now),
        )
        .values(
            # The first claim is the consumption of the resume, recorded before the thread runs.
            resumed_at=func.coalesce(ApprovalRequest.resumed_at, now),
            resume_lease_until=now + lease,
            resume_count=ApprovalRequest.resume_count + 1,
        )
        .returning(ApprovalRequest.id)
    )
    if claimed is None:
        return None
    return await session.get(ApprovalRequest, request_id, populate_existing=True)


async def mark_closed(session: AsyncSession, invoice_id: uuid.UUID, now: datetime) -> None:
    """The thread has reached its end: no resume is owed any more."""
    await session.execute(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.invoice_id == invoice_id,
            ApprovalRequest.status.in_(_ENDED),
            ApprovalRequest.closed_at.is_(None),
        )
        .values(closed_at=now, resume_lease_until=None)
    )


async def owed_resumes(
    session: AsyncSession, now: datetime, *, decided_before: datetime | None = None
) -> list[uuid.UUID]:
    """Decided requests whose thread has not finished and nobody holds: the queue lost them, or their
    worker died. Used to rebuild the ready stream from PostgreSQL."""
    query = select(ApprovalRequest.id).where(
        ApprovalRequest.status.in_(_ENDED),
        ApprovalRequest.closed_at.is_(None),
        or_(ApprovalRequest.resume_lease_until.is_(None), ApprovalRequest.resume_lease_until < now),
    )
    if decided_before is not None:
        query = query.where(ApprovalRequest.decided_at <= decided_before)
    return list(await session.scalars(query))


async def pending_timers(session: AsyncSession) -> list[tuple[uuid.UUID, datetime]]:
    rows = await session.scalars(select(ApprovalRequest).where(ApprovalRequest.status == ApprovalStatus.PENDING))
    return [(r.id, due) for r in rows if (due := next_due(r)) is not None]


async def due_requests(session: AsyncSession, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Pending requests whose reminder or deadline has come, straight from PostgreSQL (the fallback when
    the Redis timer set is gone)."""
    rows = await session.scalars(
        select(ApprovalRequest.id)
        .where(
            ApprovalRequest.status == ApprovalStatus.PENDING,
            or_(
                ApprovalRequest.deadline <= now,
                and_(ApprovalRequest.reminded_at.is_(None), ApprovalRequest.remind_at <= now),
            ),
        )
        .limit(limit)
    )
    return list(rows)
