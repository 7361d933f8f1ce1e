"""Bodies of the policy endpoints. Documents travel as JSON and are validated by `policies`."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# No treasury pays a single invoice of a quadrillion; a limit like that is a typo, not a policy.
ABSURD_LIMIT = Decimal(10) ** 15


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any] = Field(description="A policy document (see GET /api/policies/active for one).")
    comment: str | None = Field(default=None, max_length=2000)


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]


class PolicyVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int | None
    status: str
    document: dict[str, Any]
    comment: str | None
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class ValidationOut(BaseModel):
    valid: bool
    rules: int
    tiers: int


class DryRunChange(BaseModel):
    invoice_id: uuid.UUID
    recorded: str
    would_be: str
    recorded_policy_version: int | None
    reasons: list[str]


class DryRunOut(BaseModel):
    evaluated: int
    not_replayable: int
    unchanged: int
    transitions: dict[str, int] = Field(description='e.g. {"allow -> require_approval": 3}')
    changes: list[DryRunChange]


class LimitOut(BaseModel):
    limit: Decimal


class LimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_limit: Decimal = Field(gt=0, le=ABSURD_LIMIT, allow_inf_nan=False, examples=["7500"])


class LimitUpdated(BaseModel):
    status: str = "updated"
    new_limit: Decimal
    policy_version: int
