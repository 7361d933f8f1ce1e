"""Bodies of the transaction endpoints: the original design's shape. Amounts are decimal strings in token
units; gas fees are integer strings in wei, since they overflow a JSON number's safe range."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from api.timestamps import UtcDatetime

PaymentStatusName = Literal["pending", "submitted", "confirmed", "failed"]


class TransactionOut(BaseModel):
    id: uuid.UUID = Field(examples=["6f1c2f5e-9a0b-4c1d-8e2f-3a4b5c6d7e8f"])
    invoice_id: uuid.UUID = Field(examples=["0b7e6a52-1d3c-4f5a-9b8c-7d6e5f4a3b2c"])
    vendor_id: uuid.UUID = Field(examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"])
    vendor: str | None = Field(description="The registered vendor's name.", examples=["ACME Hosting GmbH"])
    payee_address: str = Field(
        description="The vendor's registered payout address the payment went to.",
        examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
    )
    amount: str = Field(examples=["1250.000000"])
    currency: str = Field(description="The fiat currency the stablecoin stands for.", examples=["USD"])
    status: PaymentStatusName = Field(examples=["confirmed"])
    tx_hash: str | None = Field(
        description="The latest signed transaction; once confirmed, the one that settled it. Null before signing.",
        examples=["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"],
    )
    created_at: UtcDatetime
    settled_at: UtcDatetime | None
    failure_reason: str | None = Field(examples=[None])
    attempts: int = Field(description="Signed transactions for this payment (fee bumps add one each).", examples=[1])


class AttemptOut(BaseModel):
    attempt_no: int = Field(examples=[1])
    nonce: int = Field(examples=[0])
    tx_hash: str = Field(examples=["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"])
    status: Literal["signed", "broadcast", "mined", "failed", "replaced"] = Field(examples=["mined"])
    max_fee_per_gas: str = Field(description="wei, as an integer string", examples=["2000000000"])
    max_priority_fee_per_gas: str = Field(description="wei, as an integer string", examples=["1000000000"])
    gas_used: int | None = Field(examples=[34567])
    block_number: int | None = Field(examples=[42])
    error: str | None = Field(examples=[None])
    created_at: UtcDatetime


class TransactionDetail(TransactionOut):
    attempt_history: list[AttemptOut] = Field(description="Every attempt, oldest first.")
