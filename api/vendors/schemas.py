"""Vendor registry bodies. The payout address changes only through a second person's approval, so it
is settable at creation and otherwise only through a change request."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["ACME Hosting GmbH"])
    payout_address: str = Field(description="EVM address, EIP-55 checksummed or all one case")
    aliases: list[str] = Field(default_factory=list, max_length=50)
    tax_id: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64, examples=["hosting"])
    known_accounts: list[str] = Field(default_factory=list, max_length=20, description="IBANs it invoices with")


class VendorUpdate(BaseModel):
    """Everything but the payout address (see the payout-address change endpoints)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    aliases: list[str] | None = Field(default=None, max_length=50)
    tax_id: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64)
    known_accounts: list[str] | None = Field(default=None, max_length=20)


class PayoutChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str


class PayoutChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vendor_id: uuid.UUID
    old_address: str
    new_address: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


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
    created_at: datetime
    pending_payout_change: PayoutChangeOut | None = None
