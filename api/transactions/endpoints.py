"""Transactions: the original design's list of payments (a plain JSON list, kept for its clients) and one
payment with every attempt made to settle it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import ReaderPrincipal
from api.deps import TreasurerDep
from api.transactions import service
from api.transactions.schemas import PaymentStatusName, TransactionDetail, TransactionOut
from finance.models import PaymentStatus

router = APIRouter(prefix="/api/transactions", tags=["transactions"])

_ERRORS = {
    401: {"description": "No valid access token or API key"},
    403: {"description": "The caller has none of the roles cfo, ops, auditor, admin"},
}


@router.get("", response_model=list[TransactionOut], responses=_ERRORS)
async def list_transactions(
    treasurer: TreasurerDep,
    _: ReaderPrincipal,
    status: Annotated[PaymentStatusName | None, Query(description="Only payments in this state.")] = None,
    vendor_id: Annotated[uuid.UUID | None, Query(description="Only payments to this vendor.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TransactionOut]:
    """Payments, newest first. A list rather than a page object: the original design's clients read it so."""
    return await service.transactions(
        treasurer,
        status=PaymentStatus(status) if status else None,
        vendor_id=vendor_id,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{payment_id}",
    response_model=TransactionDetail,
    responses={**_ERRORS, 404: {"description": "No payment with this id"}},
)
async def get_transaction(payment_id: uuid.UUID, treasurer: TreasurerDep, _: ReaderPrincipal) -> TransactionDetail:
    """One payment and its attempt history: each signed transaction, its nonce, fees, and what became of it."""
    return await service.transaction(treasurer, payment_id)
