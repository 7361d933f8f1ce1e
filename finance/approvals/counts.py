"""How many approval requests wait, and how many of them run out soon: the dashboard's approval alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import ApprovalRequest, ApprovalStatus


@dataclass(frozen=True)
class WaitingApprovals:
    pending: int
    due_soon: int  # pending, deadline before the given moment


async def waiting_approvals(session: AsyncSession, *, due_before: datetime) -> WaitingApprovals:
    pending = ApprovalRequest.status == ApprovalStatus.PENDING
    # One scan, two aggregates; status and deadline are both indexed.
    row = (
        await session.execute(
            select(
                func.count(ApprovalRequest.id),
                func.count(ApprovalRequest.id).filter(ApprovalRequest.deadline < due_before),
            ).where(pending)
        )
    ).one()
    return WaitingApprovals(pending=row[0], due_soon=row[1])
