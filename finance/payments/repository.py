"""Queries over payments and their attempts."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import AttemptStatus, Payment, PaymentAttempt, PaymentStatus
from finance.spend import sum_units

_LIVE_ATTEMPTS = (AttemptStatus.SIGNED, AttemptStatus.BROADCAST, AttemptStatus.MINED)


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, payment_id: uuid.UUID) -> Payment | None:
        return await self.session.get(Payment, payment_id)

    async def for_invoice(self, invoice_id: uuid.UUID) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))

    async def by_dedupe_key(self, dedupe_key: str) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.dedupe_key == dedupe_key))

    async def has_paid(self, vendor_id: uuid.UUID, address: str) -> bool:
        """Whether anything was ever paid (confirmed on chain) to this vendor at this address."""
        found = await self.session.scalar(
            select(Payment.id)
            .where(
                Payment.vendor_id == vendor_id,
                Payment.payee_address == address,
                Payment.status == PaymentStatus.CONFIRMED,
            )
            .limit(1)
        )
        return found is not None

    async def live_attempt(self, payment_id: uuid.UUID) -> PaymentAttempt | None:
        return await self.session.scalar(
            select(PaymentAttempt)
            .where(PaymentAttempt.payment_id == payment_id, PaymentAttempt.status.in_(_LIVE_ATTEMPTS))
            .order_by(PaymentAttempt.attempt_no.desc())
            .limit(1)
        )

    async def pending_attempts(self, payment_id: uuid.UUID) -> list[PaymentAttempt]:
        """Attempts that may still be mined: a replacement does not cancel its predecessor, the chain
        decides which of them (same nonce) gets in."""
        rows = await self.session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.payment_id == payment_id,
                PaymentAttempt.status.in_((AttemptStatus.SIGNED, AttemptStatus.BROADCAST)),
            )
            .order_by(PaymentAttempt.attempt_no)
        )
        return list(rows)

    async def attempts(self, payment_id: uuid.UUID) -> list[PaymentAttempt]:
        rows = await self.session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.payment_id == payment_id).order_by(PaymentAttempt.attempt_no)
        )
        return list(rows)

    async def reserved_units(self, token_address: str) -> int:
        """Money promised to payments still in flight: not spendable, even though it is still in the wallet."""
        return await sum_units(
            self.session,
            select(Payment.amount_units).where(
                Payment.token_address == token_address,
                Payment.status.in_((PaymentStatus.PENDING, PaymentStatus.SUBMITTED)),
            ),
        )
