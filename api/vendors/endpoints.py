"""The vendor registry, for ops: who may be paid, and where."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy import select

from api.auth import OpsPrincipal, ReaderPrincipal
from api.deps import TreasurerDep
from api.vendors.schemas import (
    PayoutChangeOut,
    PayoutChangeRequest,
    VendorCreate,
    VendorOut,
    VendorUpdate,
)
from finance.errors import NotFound
from finance.models import Vendor
from finance.payouts import decide_change, pending_change, request_change
from finance.vendors import VendorRepository

router = APIRouter(prefix="/api/vendors", tags=["vendors"])


async def _out(session, vendor: Vendor) -> VendorOut:  # noqa: ANN001
    change = await pending_change(session, vendor.id)
    out = VendorOut.model_validate(vendor)
    out.pending_payout_change = PayoutChangeOut.model_validate(change) if change else None
    return out


async def _vendor(session, vendor_id: uuid.UUID) -> Vendor:  # noqa: ANN001
    vendor = await VendorRepository(session).get(vendor_id)
    if vendor is None:
        raise NotFound(f"no vendor {vendor_id}")
    return vendor


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VendorOut)
async def create_vendor(body: VendorCreate, treasurer: TreasurerDep, principal: OpsPrincipal) -> VendorOut:
    async with treasurer.sessions.begin() as session:
        vendor = await VendorRepository(session).add(
            body.name,
            body.payout_address,
            body.aliases,
            tax_id=body.tax_id,
            known_accounts=body.known_accounts,
            category=body.category,
            created_by=principal.name,
        )
        return await _out(session, vendor)


@router.get("", response_model=list[VendorOut])
async def list_vendors(treasurer: TreasurerDep, _: ReaderPrincipal, include_inactive: bool = False) -> list[VendorOut]:
    async with treasurer.sessions() as session:
        query = select(Vendor).order_by(Vendor.name)
        if not include_inactive:
            query = query.where(Vendor.active.is_(True))
        return [await _out(session, v) for v in await session.scalars(query)]


@router.get("/{vendor_id}", response_model=VendorOut)
async def get_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, _: ReaderPrincipal) -> VendorOut:
    async with treasurer.sessions() as session:
        return await _out(session, await _vendor(session, vendor_id))


@router.patch("/{vendor_id}", response_model=VendorOut)
async def update_vendor(
    vendor_id: uuid.UUID, body: VendorUpdate, treasurer: TreasurerDep, principal: OpsPrincipal
) -> VendorOut:
    async with treasurer.sessions.begin() as session:
        vendors = VendorRepository(session)
        vendor = await vendors.update(
            await _vendor(session, vendor_id), body.model_dump(exclude_unset=True), updated_by=principal.name
        )
        return await _out(session, vendor)


@router.post("/{vendor_id}/deactivate", response_model=VendorOut)
async def deactivate_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> VendorOut:
    async with treasurer.sessions.begin() as session:
        vendors = VendorRepository(session)
        vendor = await vendors.update(await _vendor(session, vendor_id), {"active": False}, updated_by=principal.name)
        return await _out(session, vendor)


@router.post("/{vendor_id}/payout-address", status_code=status.HTTP_202_ACCEPTED, response_model=PayoutChangeOut)
async def request_payout_change(
    vendor_id: uuid.UUID, body: PayoutChangeRequest, treasurer: TreasurerDep, principal: OpsPrincipal
) -> PayoutChangeOut:
    """Ask to pay the vendor at a new address. Nothing changes, and the vendor is held, until another
    person approves."""
    async with treasurer.sessions.begin() as session:
        change = await request_change(session, await _vendor(session, vendor_id), body.new_address, principal.name)
        return PayoutChangeOut.model_validate(change)


@router.post("/{vendor_id}/payout-address/{change_id}/approve", response_model=PayoutChangeOut)
async def approve_payout_change(
    vendor_id: uuid.UUID, change_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal
) -> PayoutChangeOut:
    async with treasurer.sessions.begin() as session:
        change = await decide_change(session, change_id, principal.name, approve=True, vendor_id=vendor_id)
        return PayoutChangeOut.model_validate(change)


@router.post("/{vendor_id}/payout-address/{change_id}/reject", response_model=PayoutChangeOut)
async def reject_payout_change(
    vendor_id: uuid.UUID, change_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal
) -> PayoutChangeOut:
    async with treasurer.sessions.begin() as session:
        change = await decide_change(session, change_id, principal.name, approve=False, vendor_id=vendor_id)
        return PayoutChangeOut.model_validate(change)
