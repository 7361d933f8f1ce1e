"""Bodies of the policy endpoints. Documents travel as JSON and are validated by `policies`."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.timestamps import UtcDatetime

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
    """A draft, a proposal, or a published version. A proposal (status `proposed`) loosens a control: it lists
    how, and waits for someone other than `proposed_by` to approve it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int | None
    status: str = Field(description="draft, proposed, active, retired or rejected")
    document: dict[str, Any]
    comment: str | None
    created_by: str
    created_at: UtcDatetime
    published_by: str | None
    published_at: UtcDatetime | None
    proposed_by: str | None = None
    proposed_at: UtcDatetime | None = None
    base_version: int | None = Field(default=None, description="The active version the proposal was judged against.")
    loosenings: list[str] | None = Field(default=None, description="Every way the proposal loosens a control.")
    approved_by: str | None = None
    approved_at: UtcDatetime | None = None
    rejected_by: str | None = None
    rejected_at: UtcDatetime | None = None


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


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
    """The limit was lowered (or kept): the new version is active."""

    status: str = "updated"
    new_limit: Decimal
    policy_version: int


class LimitChangePending(BaseModel):
    """The limit was raised: a loosening, so the change waits for a second ops person
    (`POST /api/policies/proposals/{change_id}/approve`)."""

    status: Literal["pending_approval"] = "pending_approval"
    change_id: uuid.UUID
    new_limit: Decimal
    loosenings: list[str]
