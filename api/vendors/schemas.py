"""Vendor registry bodies. A new vendor waits for a second person to verify it; afterwards every change to
what identifies or pays it waits for a second person's approval."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.timestamps import UtcDatetime


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["ACME Hosting GmbH"])
    payout_address: str = Field(description="EVM address, EIP-55 checksummed or all one case")
    aliases: list[str] = Field(default_factory=list, max_length=50)
    tax_id: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64, examples=["hosting"])
    known_accounts: list[str] = Field(default_factory=list, max_length=20, description="IBANs it invoices with")


class VendorUpdate(BaseModel):
    """What identifies or pays a vendor. On a verified vendor the change waits for a second person (202); on a
    vendor nobody has verified yet it applies at once (200) and the verifier vouches for the result. A field
    sent as null is refused (422): leave it out instead."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    aliases: list[str] = Field(default=None, max_length=50)  # type: ignore[assignment]
    tax_id: str = Field(default=None, max_length=64)  # type: ignore[assignment]
    category: str = Field(default=None, max_length=64)  # type: ignore[assignment]
    known_accounts: list[str] = Field(default=None, max_length=20)  # type: ignore[assignment]
    payout_address: str = Field(default=None, max_length=64)  # type: ignore[assignment]


class PayoutChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str = Field(max_length=64)


class VendorChangeOut(BaseModel):
    """A change awaiting (or past) a second person's decision."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vendor_id: uuid.UUID
    changes: dict[str, Any]
    previous: dict[str, Any]
    status: str
    requested_by: str
    requested_at: UtcDatetime
    decided_by: str | None
    decided_at: UtcDatetime | None


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    aliases: list[str]
    tax_id: str | None
    category: str | None
    known_accounts: list[str]
    payout_address: str
    active: bool
    status: str = Field(description="pending_verification (never paid) or verified")
    registered_by: str | None
    verified_by: str | None
    verified_at: UtcDatetime | None
    created_at: UtcDatetime
    pending_change: VendorChangeOut | None = None
