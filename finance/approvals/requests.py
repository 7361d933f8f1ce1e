"""Opening an approval request: who may approve, how many must, by when, and the mails that ask them.

The request is written with its notifications in one transaction (an outbox): if the process dies right
after the commit, the mails are still owed in PostgreSQL and any worker sends them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.approvals.errors import ApprovalImpossible
from finance.decisions import DecisionLog
from finance.models import ApprovalNotification, ApprovalRequest, ApprovalStatus, Invoice, User
from finance.users import normalise_email


def identity(who: str) -> str:
    """Approvers are compared case-folded: `CFO@Example.com` and `cfo@example.com` are one person."""
    return normalise_email(who)


def is_mail_address(who: str | None) -> bool:
    return bool(who) and "@" in who and " " not in who.strip()


@dataclass(frozen=True)
class ApprovalPlan:
    """What policy asks for, as plain values (finance does not read policy documents): the tier's id, its
    group and that group's members, the quorum, and the tier's options."""

    tier: str
    group: str
    members: tuple[str, ...]
    quorum: int
    rejections_to_close: int = 1
    escalation_group: str | None = None
    initiator_may_approve: bool = False


@dataclass(frozen=True)
class OpenedRequest:
    request: ApprovalRequest
    created: bool
    notification_ids: tuple[uuid.UUID, ...]


async def open_request(
    session: AsyncSession,
    *,
    invoice: Invoice,
    plan: ApprovalPlan | None,
    policy_version: int,
    reasons: list[str],
    now: datetime,
    ttl: timedelta,
    remind_before: timedelta,
    payee_vouched_by: tuple[str, ...] = (),
) -> OpenedRequest:
    """Idempotent per invoice: a re-run of the thread gets the request it opened before.

    Nobody approves an invoice they submitted (unless the tier allows it) or one paid to a payee they registered,
    verified or changed (`payee_vouched_by`, user ids): compared by user id, and by e-mail for the group lists."""
    existing = await session.scalar(select(ApprovalRequest).where(ApprovalRequest.invoice_id == invoice.id))
    if existing is not None:
        return OpenedRequest(existing, created=False, notification_ids=())
    if plan is None:
        raise ApprovalImpossible("policy requires approval but defines no approval tier, so nobody can approve")

    excluded = [v for v in payee_vouched_by if v]
    submitter = identity(invoice.submitted_by) if invoice.submitted_by else None
    excluded_names: set[str] = set()
    if not plan.initiator_may_approve:
        # The submitter never counts towards their own invoice's quorum (four eyes).
        if invoice.submitted_by_user_id is not None:
            excluded.append(str(invoice.submitted_by_user_id))
        if submitter is not None:
            excluded_names.add(submitter)
    excluded = list(dict.fromkeys(excluded))
    excluded_names |= await _emails_of(session, excluded)
    approvers = [a for a in dict.fromkeys(identity(m) for m in plan.members) if a not in excluded_names]
    if len(approvers) < plan.quorum:
        raise ApprovalImpossible(
            f"tier {plan.tier!r} needs {plan.quorum} approval(s) from group {plan.group!r}, but only "
            f"{len(approvers)} member(s) other than the submitter and the payee's registrars can approve"
        )
    deadline = now + ttl
    remind_at = deadline - remind_before if remind_before and deadline - remind_before > now else None
    request = ApprovalRequest(
        invoice_id=invoice.id,
        policy_version=policy_version,
        tier=plan.tier,
        approver_group=plan.group,
        approvers=approvers,
        quorum=plan.quorum,
        rejections_to_close=plan.rejections_to_close,
        escalation_group=plan.escalation_group,
        submitted_by=invoice.submitted_by,
        excluded_user_ids=excluded,
        reasons=reasons,
        status=ApprovalStatus.PENDING,
        deadline=deadline,
        remind_at=remind_at,
        created_at=now,
    )
    try:
        # A savepoint: two runs of one thread racing here (a queue entry delivered twice) meet on the unique
        # invoice_id; the loser takes the winner's request instead of failing its whole transaction.
        async with session.begin_nested():
            session.add(request)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(ApprovalRequest).where(ApprovalRequest.invoice_id == invoice.id))
        return OpenedRequest(existing, created=False, notification_ids=())
    notifications = await owe_mail(session, request, approvers, "request", now)
    await DecisionLog(session).append(
        invoice_id=invoice.id,
        step="approval",
        outcome="requested",
        reason=f"{plan.quorum} of {len(approvers)} in {plan.group!r} must approve by {deadline.isoformat()}",
        details={
            "approval_request_id": str(request.id),
            "tier": plan.tier,
            "group": plan.group,
            "approvers": approvers,
            "quorum": plan.quorum,
            "deadline": deadline.isoformat(),
            "policy_version": policy_version,
        },
    )
    return OpenedRequest(request, created=True, notification_ids=notifications)


async def _emails_of(session: AsyncSession, user_ids: list[str]) -> set[str]:
    ids = [uuid.UUID(u) for u in user_ids]
    if not ids:
        return set()
    return {identity(e) for e in await session.scalars(select(User.email).where(User.id.in_(ids)))}


async def owe_mail(
    session: AsyncSession, request: ApprovalRequest, recipients: list[str], kind: str, now: datetime
) -> tuple[uuid.UUID, ...]:
    """Record mails owed. Recipients that are not addresses (bare user ids) are reached through the app."""
    rows = [
        ApprovalNotification(request_id=request.id, recipient=r, kind=kind, created_at=now)
        for r in dict.fromkeys(recipients)
        if is_mail_address(r)
    ]
    session.add_all(rows)
    await session.flush()
    return tuple(row.id for row in rows)
