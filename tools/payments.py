"""The LangChain tools through which agents move money. Each wraps one idempotent payment step of
`finance`, so an agent (or a re-run node) can call it again safely. Outputs are plain JSON.

Note what is absent: no tool takes a payee address. The payee is read from the vendor registry
inside `reserve_payment`, so nothing a model says can redirect a payment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from finance.payments.service import PaymentOutcome, PaymentService


class ReserveArgs(BaseModel):
    invoice_id: uuid.UUID
    vendor_id: uuid.UUID
    amount_units: int = Field(gt=0, description="amount in token base units")
    dedupe_key: str = Field(min_length=1, description="normalised vendor + invoice number")


class PaymentArgs(BaseModel):
    payment_id: uuid.UUID


def _as_dict(outcome: PaymentOutcome) -> dict[str, Any]:
    return {
        "payment_id": str(outcome.payment_id),
        "status": outcome.status.value if hasattr(outcome.status, "value") else str(outcome.status),
        "tx_hash": outcome.tx_hash,
        "reason": outcome.reason,
    }


@dataclass(frozen=True)
class PaymentTools:
    reserve: BaseTool
    sign: BaseTool
    broadcast: BaseTool
    confirm: BaseTool


def build_payment_tools(service: PaymentService) -> PaymentTools:
    async def reserve_payment(invoice_id: uuid.UUID, vendor_id: uuid.UUID, amount_units: int, dedupe_key: str) -> dict:
        payment_id = await service.reserve(
            invoice_id=invoice_id, vendor_id=vendor_id, amount_units=amount_units, dedupe_key=dedupe_key
        )
        return {"payment_id": str(payment_id)}

    async def sign_payment(payment_id: uuid.UUID) -> dict:
        return _as_dict(await service.sign(payment_id))

    async def broadcast_payment(payment_id: uuid.UUID) -> dict:
        return _as_dict(await service.broadcast(payment_id))

    async def confirm_payment(payment_id: uuid.UUID) -> dict:
        return _as_dict(await service.confirm(payment_id))

    def tool(fn, args, description: str) -> BaseTool:
        return StructuredTool.from_function(coroutine=fn, name=fn.__name__, description=description, args_schema=args)

    return PaymentTools(
        reserve=tool(
            reserve_payment,
            ReserveArgs,
            "Record the intent to pay an invoice to its vendor's registered address; reserves the funds.",
        ),
        sign=tool(sign_payment, PaymentArgs, "Allocate a nonce, sign the transfer and store it before sending."),
        broadcast=tool(broadcast_payment, PaymentArgs, "Send the stored signed transfer to the chain (idempotent)."),
        confirm=tool(
            confirm_payment,
            PaymentArgs,
            "Wait for the receipt and settle only on status 1 with a matching Transfer event.",
        ),
    )
