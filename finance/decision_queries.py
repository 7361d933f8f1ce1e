"""Read side of the decision log for auditors and the dashboard: filtered pages, a stream for exports,
and the latest rows beside their invoice's total. Never writes: appends go through `DecisionLog`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncScalarResult, AsyncSession

from finance.models import Decision, Invoice

# Rows fetched per round trip while exporting: the whole log is never held in memory.
_EXPORT_BATCH = 500


@dataclass(frozen=True)
class DecisionFilter:
    invoice_id: uuid.UUID | None = None
    step: str | None = None
    outcome: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive, so consecutive windows never count a row twice

    def apply(self, query: Select) -> Select:
        for column, value in (
            (Decision.invoice_id, self.invoice_id),
            (Decision.step, self.step),
            (Decision.outcome, self.outcome),
            (Decision.actor, self.actor),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.since is not None:
            query = query.where(Decision.created_at >= self.since)
        if self.until is not None:
            query = query.where(Decision.created_at < self.until)
        return query


async def count_decisions(session: AsyncSession, where: DecisionFilter) -> int:
    return await session.scalar(where.apply(select(func.count(Decision.id))))


async def page_of_decisions(session: AsyncSession, where: DecisionFilter, *, limit: int, offset: int) -> list[Decision]:
    """In chain order (id ascending), the order the hashes link in."""
    query = where.apply(select(Decision)).order_by(Decision.id).limit(limit).offset(offset)
    return list(await session.scalars(query))


async def stream_decisions(session: AsyncSession, where: DecisionFilter) -> AsyncScalarResult[Decision]:
    """Every matching row in chain order, fetched in batches (a server-side cursor on PostgreSQL). The query
    runs when this returns, so a failing database is known before the caller starts answering."""
    query = where.apply(select(Decision)).order_by(Decision.id).execution_options(yield_per=_EXPORT_BATCH)
    return await session.stream_scalars(query)


@dataclass(frozen=True)
class RecentDecision:
    decision: Decision
    invoice_total_units: int | None


async def recent_decisions(session: AsyncSession, limit: int) -> list[RecentDecision]:
    """Newest first, each with its invoice's extracted total (None for rows about no invoice)."""
    # Decision.invoice_id has no foreign key (the log outlives anything it mentions), hence the outer join.
    query = (
        select(Decision, Invoice.total_units)
        .outerjoin(Invoice, Invoice.id == Decision.invoice_id)
        .order_by(Decision.id.desc())
        .limit(limit)
    )
    return [RecentDecision(row, total) for row, total in await session.execute(query)]
