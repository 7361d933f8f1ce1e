"""What the treasury has paid or committed, summed over windows: the inputs of velocity limits,
budgets and burn. Amounts are base units (int). Payments in flight count as spent: a limit that
ignored them could be crossed by submitting invoices faster than they confirm.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Vendor, utcnow

WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
_COUNTED = (PaymentStatus.PENDING, PaymentStatus.SUBMITTED, PaymentStatus.CONFIRMED)


async def sum_units(session: AsyncSession, query: Select) -> int:
    """SUM of a base-units column. SQLite stores those as text (exactness past 2**63), so there the
    rows are summed in Python; PostgreSQL sums NUMERIC exactly itself."""
    if session.bind.dialect.name == "postgresql":
        total = await session.scalar(query.with_only_columns(func.sum(query.selected_columns[0])))
        return int(total or 0)
    return sum(await session.scalars(query))


@dataclass(frozen=True)
class SpendFigures:
    vendor_window_units: dict[str, int]
    global_window_units: dict[str, int]
    vendor_month_to_date_units: int
    category_month_to_date_units: int


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def spend_figures(
    session: AsyncSession, *, vendor_id: uuid.UUID | None, category: str | None, now: datetime | None = None
) -> SpendFigures:
    now = now or utcnow()
    counted = select(Payment.amount_units).where(Payment.status.in_(_COUNTED))
    vendor_windows, global_windows = {}, {}
    for name, span in WINDOWS.items():
        recent = counted.where(Payment.created_at >= now - span)
        global_windows[name] = await sum_units(session, recent)
        vendor_windows[name] = (
            await sum_units(session, recent.where(Payment.vendor_id == vendor_id)) if vendor_id else 0
        )
    this_month = counted.where(Payment.created_at >= month_start(now))
    vendor_mtd = await sum_units(session, this_month.where(Payment.vendor_id == vendor_id)) if vendor_id else 0
    category_mtd = 0
    if category:
        category_mtd = await sum_units(
            session, this_month.join(Vendor, Vendor.id == Payment.vendor_id).where(Vendor.category == category)
        )
    return SpendFigures(vendor_windows, global_windows, vendor_mtd, category_mtd)


async def settled_outflows(session: AsyncSession, since: datetime) -> tuple[int, datetime | None]:
    """Confirmed payments since `since`, and when the oldest of them settled (None: no history)."""
    settled = select(Payment.amount_units).where(Payment.status == PaymentStatus.CONFIRMED, Payment.settled_at >= since)
    oldest = await session.scalar(select(func.min(Payment.settled_at)).where(Payment.status == PaymentStatus.CONFIRMED))
    return await sum_units(session, settled), oldest


async def committed_outflows(session: AsyncSession) -> int:
    """Invoices waiting for approval: money the treasury is likely to owe within the month."""
    return await sum_units(
        session,
        select(Invoice.total_units).where(
            Invoice.status == InvoiceStatus.PENDING_APPROVAL, Invoice.total_units.is_not(None)
        ),
    )
