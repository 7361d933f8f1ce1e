"""Read side of approvals: what a person is asked to decide, and an invoice's approval history."""

from __future__ import annotations

import uuid

from sqlalchemy import select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from finance.approvals.requests import identity
from finance.models import ApprovalRequest, ApprovalStatus, ApprovalVote


async def requests_for_approver(
    session: AsyncSession, who: str, *, status: ApprovalStatus | None = ApprovalStatus.PENDING, limit: int = 100
) -> list[ApprovalRequest]:
    me = identity(who)
    query = select(ApprovalRequest).order_by(ApprovalRequest.deadline)
    if status is not None:
        query = query.where(ApprovalRequest.status == status)
    if session.bind.dialect.name == "postgresql":
        # JSONB containment, so the database filters rather than this process.
        query = query.where(type_coerce(ApprovalRequest.approvers, JSONB).contains([me])).limit(limit)
        return list(await session.scalars(query))
    return [r for r in await session.scalars(query) if me in (r.approvers or [])][:limit]


async def has_voted(session: AsyncSession, request_id: uuid.UUID, who: str) -> bool:
    return (
        await session.scalar(
            select(ApprovalVote.id).where(ApprovalVote.request_id == request_id, ApprovalVote.approver == identity(who))
        )
        is not None
    )


async def request_for_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> ApprovalRequest | None:
    return await session.scalar(select(ApprovalRequest).where(ApprovalRequest.invoice_id == invoice_id))
