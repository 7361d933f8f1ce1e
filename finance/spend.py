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

from finance.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Vendor, as_utc, utcnow

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
    since = {name: now - span for name, span in WINDOWS.items()}
    mtd = month_start(now)
    oldest = min(mtd, *since.values())
    in_vendor = Payment.vendor_id == vendor_id
    in_category = Vendor.category == category
    # One pass over the payments of the last month, every figure an aggregate of it: this runs before
    # every evaluation, so nine separate SUMs would be nine scans of a growing table.
    conditions = {
        **{f"global_{w}": Payment.created_at >= t for w, t in since.items()},
        **{f"vendor_{w}": in_vendor & (Payment.created_at >= t) for w, t in since.items()},
        "vendor_mtd": in_vendor & (Payment.created_at >= mtd),
        "category_mtd": in_category & (Payment.created_at >= mtd),
    }
    scope = (
        select(Payment.amount_units, Payment.created_at, Payment.vendor_id, Vendor.category)
        .join(Vendor, Vendor.id == Payment.vendor_id)
        .where(Payment.status.in_(_COUNTED), Payment.created_at >= oldest)
    )
    if session.bind.dialect.name == "postgresql":
        row = (
            await session.execute(
                scope.with_only_columns(
                    *(
                        func.coalesce(func.sum(Payment.amount_units).filter(c), 0).label(k)
                        for k, c in conditions.items()
                    )
                )
            )
        ).one()
        totals = {k: int(getattr(row, k)) for k in conditions}
    else:
        totals = _sum_in_python(await session.execute(scope), since, mtd, vendor_id, category)
    return SpendFigures(
        vendor_window_units={w: totals[f"vendor_{w}"] for w in WINDOWS} if vendor_id else dict.fromkeys(WINDOWS, 0),
        global_window_units={w: totals[f"global_{w}"] for w in WINDOWS},
        vendor_month_to_date_units=totals["vendor_mtd"] if vendor_id else 0,
        category_month_to_date_units=totals["category_mtd"] if category else 0,
    )


def _sum_in_python(rows, since: dict[str, datetime], mtd: datetime, vendor_id, category) -> dict[str, int]:
    # SQLite keeps base units as text (exact past 2**63), so its SUM would go through a float.
    totals = dict.fromkeys(
        [*(f"global_{w}" for w in WINDOWS), *(f"vendor_{w}" for w in WINDOWS), "vendor_mtd", "category_mtd"], 0
    )
    for amount, created_at, row_vendor, row_category in rows:
        created_at = as_utc(created_at)
        for window, start in since.items():
            if created_at >= start:
                totals[f"global_{window}"] += amount
                if row_vendor == vendor_id:
                    totals[f"vendor_{window}"] += amount
        if created_at >= mtd:
            totals["vendor_mtd"] += amount if row_vendor == vendor_id else 0
            totals["category_mtd"] += amount if category is not None and row_category == category else 0
    return totals


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
