"""Votes and cancellation: the only ways a person changes an approval request.

Every change locks the request row first (`FOR UPDATE`). Two approvers racing to the quorum, or a hundred
replays of one link, therefore queue on that row: exactly one of them sees the request still open and
closes it, and the unique (request, approver) pair turns every second vote into a clean refusal.
Lock order is always request row, then the decision log's lock, so these never deadlock each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.approvals.errors import AlreadyVoted, ApprovalClosed, LinkAlreadyUsed, NotAnApprover
from finance.approvals.requests import identity, owe_mail
from finance.decisions import DecisionLog
from finance.errors import FourEyesRequired, NotFound
from finance.identity import Actor
from finance.models import ApprovalRequest, ApprovalStatus, ApprovalVote, Invoice, as_utc
from finance.users import UserRepository

VoteDecision = Literal["approve", "reject"]


@dataclass(frozen=True)
class VoteOutcome:
    request: ApprovalRequest
    vote: ApprovalVote
    approvals: int
    rejections: int
    # True when this vote closed the request (approved or rejected): the caller must wake the thread.
    closed: bool
    mails: tuple[uuid.UUID, ...] = ()  # owed by the close (the submitter learns of a rejection)


async def locked_request(session: AsyncSession, request_id: uuid.UUID) -> ApprovalRequest:
    request = await session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    return request


async def tally(session: AsyncSession, request_id: uuid.UUID) -> tuple[int, int]:
    rows = await session.execute(
        select(ApprovalVote.decision, func.count())
        .where(ApprovalVote.request_id == request_id)
        .group_by(ApprovalVote.decision)
    )
    counts = {decision: count for decision, count in rows}
    return counts.get("approve", 0), counts.get("reject", 0)


async def cast_vote(
    session: AsyncSession,
    request_id: uuid.UUID,
    voter: Actor,
    decision: VoteDecision,
    *,
    channel: str,
    now: datetime,
    token_id: str | None = None,
    comment: str | None = None,
) -> VoteOutcome:
    request = await locked_request(session, request_id)
    # Whatever the credential (a link names an e-mail, a token a user id), the vote is one user's, and the
    # "someone else" checks compare that user's id.
    users = UserRepository(session)
    user = await users.get(voter.user_id) if voter.user_id else await users.by_email(voter.name)
    if user is None or not user.active:
        raise NotAnApprover(f"{voter.name} has no active account, so cannot vote")
    who = identity(user.email)
    if token_id is not None and await session.scalar(select(ApprovalVote.id).where(ApprovalVote.token_id == token_id)):
        raise LinkAlreadyUsed("this link has already been used; each link works once")
    if request.status != ApprovalStatus.PENDING:
        raise ApprovalClosed(f"this approval request is already {request.status}; nothing was changed")
    if now >= as_utc(request.deadline):
        raise ApprovalClosed("this approval request has passed its deadline; nothing was changed")
    if str(user.id) in (request.excluded_user_ids or []):
        raise FourEyesRequired(
            f"{who} submitted this invoice or registered, verified or changed its payee, so cannot approve it"
        )
    if who not in request.approvers:
        raise NotAnApprover(f"{who} is not an approver of this request")
    if await session.scalar(
        select(ApprovalVote.id).where(ApprovalVote.request_id == request.id, ApprovalVote.approver == who)
    ):
        raise AlreadyVoted(f"{who} has already voted on this request")
    vote = ApprovalVote(
        request_id=request.id,
        approver=who,
        approver_user_id=user.id,
        decision=decision,
        comment=comment,
        channel=channel,
        token_id=token_id,
        created_at=now,
    )
    session.add(vote)
    await session.flush()
    approvals, rejections = await tally(session, request.id)
    log = DecisionLog(session)
    await log.append(
        invoice_id=request.invoice_id,
        step="approval",
        outcome=decision,
        reason=f"{who} voted {decision} ({approvals} of {request.quorum} approvals)",
        details={"approval_request_id": str(request.id), "channel": channel, "comment": comment},
        actor=who,
    )
    remaining = len(request.approvers) - approvals - rejections
    closed = None
    if approvals >= request.quorum:
        closed = ApprovalStatus.APPROVED, f"approved by {approvals} of {request.quorum} required"
    elif rejections >= request.rejections_to_close:
        closed = ApprovalStatus.REJECTED, f"rejected by {who}"
    elif approvals + remaining < request.quorum:
        # Not enough people left who could still approve: waiting out the deadline would only delay the answer.
        closed = ApprovalStatus.REJECTED, f"rejected: the quorum of {request.quorum} can no longer be reached"
    mails: tuple[uuid.UUID, ...] = ()
    if closed is not None:
        mails = await close(session, request, closed[0], closed[1], by=who, now=now)
    return VoteOutcome(request, vote, approvals, rejections, closed=closed is not None, mails=mails)


async def close(
    session: AsyncSession,
    request: ApprovalRequest,
    status: ApprovalStatus,
    reason: str,
    *,
    by: str,
    now: datetime,
    notify_submitter: bool = True,
) -> tuple[uuid.UUID, ...]:
    """Close a locked, pending request and record why. Returns the mails it owes (the submitter learns of
    any end but approval, which they learn from the payment)."""
    request.status = status
    request.decided_at = now
    request.decided_by = by
    request.outcome_reason = reason
    await DecisionLog(session).append(
        invoice_id=request.invoice_id,
        step="approval",
        outcome=status.value,
        reason=reason,
        details={"approval_request_id": str(request.id)},
        actor=by,
    )
    if status == ApprovalStatus.APPROVED or not request.submitted_by or not notify_submitter:
        return ()
    return await owe_mail(session, request, [request.submitted_by], status.value, now)


async def cancel(
    session: AsyncSession, request_id: uuid.UUID, by: Actor, *, is_admin: bool, now: datetime, reason: str | None = None
) -> tuple[ApprovalRequest, tuple[uuid.UUID, ...]]:
    """Returns the request and the mails the cancellation owes."""
    request = await locked_request(session, request_id)
    who = identity(by.name)
    submitter_id = await session.scalar(select(Invoice.submitted_by_user_id).where(Invoice.id == request.invoice_id))
    if submitter_id is not None and by.user_id is not None:
        by_submitter = submitter_id == by.user_id
    else:
        by_submitter = request.submitted_by is not None and identity(request.submitted_by) == who
    if not is_admin and not by_submitter:
        raise NotAnApprover("only the submitter of the invoice or an admin may cancel its approval request")
    if request.status != ApprovalStatus.PENDING:
        raise ApprovalClosed(f"this approval request is already {request.status}; nothing was changed")
    mails = await close(
        session,
        request,
        ApprovalStatus.CANCELLED,
        reason or f"cancelled by {who}",
        by=who,
        now=now,
        notify_submitter=not by_submitter,
    )
    return request, mails
