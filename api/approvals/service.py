"""Approval actions at the unit-of-work boundary: change PostgreSQL, commit, and only then hand what the
change owes (mails, the thread's resume) to the dispatcher. Shared by the JSON API and the link pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agents.runtime import Treasurer
from finance.approvals.errors import AlreadyVoted
from finance.approvals.votes import VoteDecision, VoteOutcome, cancel, cast_vote, tally
from finance.errors import NotFound
from finance.identity import Actor
from finance.models import ApprovalRequest, ApprovalVote, Invoice, Vendor, as_utc, utcnow


async def vote(
    treasurer: Treasurer,
    request_id: uuid.UUID,
    voter: Actor | str,
    decision: VoteDecision,
    *,
    channel: str,
    token_id: str | None = None,
    comment: str | None = None,
) -> VoteOutcome:
    if isinstance(voter, str):
        # An e-mail alone (a link, a script): the vote is that user's, resolved in `cast_vote`.
        voter = Actor(user_id=None, name=voter)
    try:
        async with treasurer.sessions.begin() as session:
            outcome = await cast_vote(
                session,
                request_id,
                voter,
                decision,
                channel=channel,
                token_id=token_id,
                comment=comment,
                now=utcnow(),
            )
    except IntegrityError as exc:
        # The row lock already serialises votes; this is the unique constraint's last word if it did not.
        raise AlreadyVoted("this vote was already recorded; nothing was changed") from exc
    await treasurer.approvals.send_mails(outcome.mails)
    if outcome.closed:
        await treasurer.approvals.schedule(request_id, None)
        await treasurer.approvals.resume(request_id)
    return outcome


async def cancel_request(
    treasurer: Treasurer, request_id: uuid.UUID, by: Actor | str, *, is_admin: bool, reason: str | None
) -> ApprovalRequest:
    by = Actor(user_id=None, name=by) if isinstance(by, str) else by
    async with treasurer.sessions.begin() as session:
        request, mails = await cancel(session, request_id, by, is_admin=is_admin, now=utcnow(), reason=reason)
    await treasurer.approvals.send_mails(mails)
    await treasurer.approvals.schedule(request_id, None)
    await treasurer.approvals.resume(request_id)
    return request


@dataclass(frozen=True)
class ApprovalView:
    """A request with everything a person needs to decide: the invoice, the reasons, who has voted."""

    request: ApprovalRequest
    invoice: Invoice
    vendor_name: str | None
    amount: Decimal | None
    votes: list[ApprovalVote]
    approvals: int
    rejections: int

    @property
    def deadline(self):
        return as_utc(self.request.deadline)


async def approval_view(session: AsyncSession, request_id: uuid.UUID) -> ApprovalView:
    request = await session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    invoice = await session.get(Invoice, request.invoice_id)
    vendor = await session.get(Vendor, invoice.vendor_id) if invoice.vendor_id else None
    votes = list(
        await session.scalars(
            select(ApprovalVote).where(ApprovalVote.request_id == request.id).order_by(ApprovalVote.created_at)
        )
    )
    approvals, rejections = await tally(session, request.id)
    total = (invoice.fields or {}).get("total")
    return ApprovalView(
        request=request,
        invoice=invoice,
        vendor_name=vendor.name if vendor else invoice.vendor_name,
        amount=Decimal(total) if total is not None else None,
        votes=votes,
        approvals=approvals,
        rejections=rejections,
    )
