"""Bodies of the decision-log endpoints: every stored field, hashes included, so an auditor can recompute them."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.timestamps import UtcDatetime


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(examples=[42])
    invoice_id: uuid.UUID | None = Field(
        description="Null for decisions about no invoice (vendor registry, nonces).",
        examples=["0b7e6a52-1d3c-4f5a-9b8c-7d6e5f4a3b2c"],
    )
    step: str = Field(examples=["evaluate"])
    outcome: str = Field(examples=["require_approval"])
    reason: str = Field(examples=["amount 6000 is over the per-invoice limit of 5000"])
    details: dict[str, Any] = Field(examples=[{"policy_version": 1, "tier": {"id": "standard", "quorum": 1}}])
    actor: str = Field(examples=["treasurer"])
    created_at: UtcDatetime
    prev_hash: str = Field(description="The previous row's hash (64 zeros for the first row).", examples=["0" * 64])
    hash: str = Field(
        description="SHA-256 over this row's content and prev_hash.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )


class DecisionPage(BaseModel):
    items: list[DecisionOut]
    total: int = Field(description="Rows matching the filters, over all pages.", examples=[1234])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


class VerificationOut(BaseModel):
    ok: bool = Field(description="True when every row's hash recomputes and chains to the one before.")
    checked: int = Field(description="Rows verified before the first bad one (all rows when ok).", examples=[1234])
    first_bad_id: int | None = Field(description="The first row that does not verify.", examples=[None])
