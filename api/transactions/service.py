"""Payments rendered for people: token amounts as decimal text, fees as wei text."""

from __future__ import annotations

import uuid

from agents.runtime import Treasurer
from api.transactions.schemas import AttemptOut, TransactionDetail, TransactionOut
from finance.errors import NotFound
from finance.models import PaymentAttempt, PaymentStatus
from finance.money import from_base_units
from finance.payments.queries import PaymentRow, list_payments, payment_row
from finance.payments.repository import PaymentRepository


def _fields(row: PaymentRow, decimals: int, currency: str) -> dict:
    p = row.payment
    return {
        "id": p.id,
        "invoice_id": p.invoice_id,
        "vendor_id": p.vendor_id,
        "vendor": row.vendor_name,
        "payee_address": p.payee_address,
        # Fixed-point text: str() of a Decimal may use an exponent ("0E-6").
        "amount": format(from_base_units(p.amount_units, decimals), "f"),
        "currency": currency,
        "status": p.status,
        "tx_hash": p.tx_hash,
        "created_at": p.created_at,
        "settled_at": p.settled_at,
        "failure_reason": p.failure_reason,
        "attempts": row.attempts,
    }


def _attempt(a: PaymentAttempt) -> AttemptOut:
    return AttemptOut(
        attempt_no=a.attempt_no,
        nonce=a.nonce,
        tx_hash=a.tx_hash,
        status=a.status,
        max_fee_per_gas=str(a.max_fee_per_gas),
        max_priority_fee_per_gas=str(a.max_priority_fee_per_gas),
        gas_used=a.gas_used,
        block_number=a.block_number,
        error=a.error,
        created_at=a.created_at,
    )


async def transactions(
    treasurer: Treasurer,
    *,
    status: PaymentStatus | None,
    vendor_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[TransactionOut]:
    ctx = treasurer.context
    async with treasurer.sessions() as session:
        rows = await list_payments(session, status=status, vendor_id=vendor_id, limit=limit, offset=offset)
    return [TransactionOut(**_fields(r, ctx.token.decimals, ctx.settings.token_currency)) for r in rows]


async def transaction(treasurer: Treasurer, payment_id: uuid.UUID) -> TransactionDetail:
    ctx = treasurer.context
    async with treasurer.sessions() as session:
        row = await payment_row(session, payment_id)
        if row is None:
            raise NotFound(f"no transaction {payment_id}")
        attempts = await PaymentRepository(session).attempts(payment_id)
    return TransactionDetail(
        **_fields(row, ctx.token.decimals, ctx.settings.token_currency),
        attempt_history=[_attempt(a) for a in attempts],
    )
