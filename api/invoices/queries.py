"""The invoice list: filters and a page, counted in the same query's terms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import Invoice


async def list_invoices(
    session: AsyncSession,
    *,
    status: str | None,
    vendor: str | None,
    submitted_by: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Invoice], int]:
    conditions = []
    if status:
        conditions.append(Invoice.status == status)
    if vendor:
        # Escaped: a vendor filter is a substring, never a pattern the caller controls.
        escaped = vendor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Invoice.vendor_name.ilike(f"%{escaped}%", escape="\\"))
    if submitted_by:
        conditions.append(func.lower(Invoice.submitted_by) == submitted_by.strip().lower())
    if since:
        conditions.append(Invoice.created_at >= since)
    if until:
        conditions.append(Invoice.created_at < until)
    total = await session.scalar(select(func.count()).select_from(Invoice).where(*conditions))
    rows = await session.scalars(
        select(Invoice).where(*conditions).order_by(Invoice.created_at.desc(), Invoice.id).limit(limit).offset(offset)
    )
    return list(rows), total or 0
