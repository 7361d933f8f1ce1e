"""Read side of payments for people: lists and detail with the vendor's name and the attempts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import Payment, PaymentAttempt, PaymentStatus, Vendor


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    vendor_name: str | None
    attempts: int


def _with_vendor_and_attempts() -> Select:
    # A correlated count keeps one row per payment whatever the number of attempts (no GROUP BY on every column).
    attempts = select(func.count(PaymentAttempt.id)).where(PaymentAttempt.payment_id == Payment.id).scalar_subquery()
    return select(Payment, Vendor.name, attempts).outerjoin(Vendor, Vendor.id == Payment.vendor_id)


async def list_payments(
    session: AsyncSession,
    *,
    status: PaymentStatus | None = None,
    vendor_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PaymentRow]:
    """Newest first; the id breaks ties so pages never overlap when two payments share a timestamp."""
    query = _with_vendor_and_attempts().order_by(Payment.created_at.desc(), Payment.id.desc())
    if status is not None:
        query = query.where(Payment.status == status)
    if vendor_id is not None:
        query = query.where(Payment.vendor_id == vendor_id)
    rows = await session.execute(query.limit(limit).offset(offset))
    return [PaymentRow(payment, name, count) for payment, name, count in rows]


async def payment_row(session: AsyncSession, payment_id: uuid.UUID) -> PaymentRow | None:
    row = (await session.execute(_with_vendor_and_attempts().where(Payment.id == payment_id))).first()
    return PaymentRow(*row) if row else None


async def in_flight_since(session: AsyncSession, before: datetime) -> int:
    """Payments still pending or submitted that started before `before`: stuck, for the reconciler or a person."""
    return await session.scalar(
        select(func.count(Payment.id)).where(
            Payment.status.in_((PaymentStatus.PENDING, PaymentStatus.SUBMITTED)), Payment.created_at < before
        )
    )


async def failed_since(session: AsyncSession, since: datetime) -> int:
    # A failed payment never settles, so its creation time is the nearest indexed time to when it failed.
    return await session.scalar(
        select(func.count(Payment.id)).where(Payment.status == PaymentStatus.FAILED, Payment.created_at >= since)
    )
