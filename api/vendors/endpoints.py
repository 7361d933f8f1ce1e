"""The vendor registry, for ops: who may be paid, and where. One person registers or asks for a change; another
verifies or approves it (`finance.vendor_changes`), compared by user id whatever credential each uses."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import OpsPrincipal, ReaderPrincipal
from api.deps import TreasurerDep
from api.vendors.schemas import PayoutChangeRequest, VendorChangeOut, VendorCreate, VendorOut, VendorUpdate
from finance import vendor_changes
from finance.errors import NotFound
from finance.models import Vendor, VendorChange
from finance.vendors import VendorRepository

router = APIRouter(prefix="/api/vendors", tags=["vendors"])

_CHANGE_RESPONSES = {
    200: {"model": VendorOut, "description": "Applied at once: a deactivation, or an edit of an unverified vendor"},
    202: {"model": VendorChangeOut, "description": "Held until someone other than the requester approves it"},
}


async def _out(session: AsyncSession, vendor: Vendor) -> VendorOut:
    change = await vendor_changes.pending_change(session, vendor.id)
    out = VendorOut.model_validate(vendor)
    out.pending_change = VendorChangeOut.model_validate(change) if change else None
    return out


async def _vendor(session: AsyncSession, vendor_id: uuid.UUID) -> Vendor:
    vendor = await VendorRepository(session).get(vendor_id)
    if vendor is None:
        raise NotFound(f"no vendor {vendor_id}")
    return vendor


async def _change_answer(session: AsyncSession, vendor_id: uuid.UUID, change: VendorChange | None) -> JSONResponse:
    if change is None:
        body = await _out(session, await _vendor(session, vendor_id))
        return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    return JSONResponse(
        VendorChangeOut.model_validate(change).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VendorOut)
async def create_vendor(body: VendorCreate, treasurer: TreasurerDep, principal: OpsPrincipal) -> VendorOut:
    """Register a vendor. It is `pending_verification`, and never paid, until someone else verifies it."""
    async with treasurer.sessions.begin() as session:
        vendor = await VendorRepository(session).add(
            body.name,
            body.payout_address,
            body.aliases,
            tax_id=body.tax_id,
            known_accounts=body.known_accounts,
            category=body.category,
            registered_by=principal.actor,
        )
        return await _out(session, vendor)


@router.get("", response_model=list[VendorOut])
async def list_vendors(treasurer: TreasurerDep, _: ReaderPrincipal, include_inactive: bool = False) -> list[VendorOut]:
    async with treasurer.sessions() as session:
        return [await _out(session, v) for v in await VendorRepository(session).listed(include_inactive)]


@router.get("/changes", response_model=list[VendorChangeOut])
async def list_changes(treasurer: TreasurerDep, _: OpsPrincipal) -> list[VendorChangeOut]:
    """Changes awaiting a second person, oldest first."""
    async with treasurer.sessions() as session:
        return [VendorChangeOut.model_validate(c) for c in await vendor_changes.pending_changes(session)]


@router.get("/{vendor_id}", response_model=VendorOut)
async def get_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, _: ReaderPrincipal) -> VendorOut:
    async with treasurer.sessions() as session:
        return await _out(session, await _vendor(session, vendor_id))


@router.post("/{vendor_id}/verify", response_model=VendorOut)
async def verify_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> VendorOut:
    """Vouch for a new vendor: only someone other than the people who registered or edited it (403 `four_eyes`)."""
    async with treasurer.sessions.begin() as session:
        return await _out(session, await vendor_changes.verify(session, vendor_id, principal.actor))


@router.patch("/{vendor_id}", responses=_CHANGE_RESPONSES)
async def update_vendor(
    vendor_id: uuid.UUID, body: VendorUpdate, treasurer: TreasurerDep, principal: OpsPrincipal
) -> JSONResponse:
    async with treasurer.sessions.begin() as session:
        change = await vendor_changes.request(session, vendor_id, body.model_dump(exclude_unset=True), principal.actor)
        return await _change_answer(session, vendor_id, change)


@router.post("/{vendor_id}/deactivate", response_model=VendorOut)
async def deactivate_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> VendorOut:
    """Stop paying a vendor, at once: only tightening, so one person may."""
    async with treasurer.sessions.begin() as session:
        await vendor_changes.request(session, vendor_id, {"active": False}, principal.actor)
        return await _out(session, await _vendor(session, vendor_id))


@router.post("/{vendor_id}/reactivate", responses=_CHANGE_RESPONSES)
async def reactivate_vendor(vendor_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> JSONResponse:
    async with treasurer.sessions.begin() as session:
        change = await vendor_changes.request(session, vendor_id, {"active": True}, principal.actor)
        return await _change_answer(session, vendor_id, change)


@router.post("/{vendor_id}/payout-address", responses=_CHANGE_RESPONSES)
async def request_payout_change(
    vendor_id: uuid.UUID, body: PayoutChangeRequest, treasurer: TreasurerDep, principal: OpsPrincipal
) -> JSONResponse:
    """Ask to pay the vendor at a new address. Nothing changes, and the vendor is held, until another
    person approves."""
    async with treasurer.sessions.begin() as session:
        change = await vendor_changes.request(session, vendor_id, {"payout_address": body.new_address}, principal.actor)
        return await _change_answer(session, vendor_id, change)


@router.post("/{vendor_id}/changes/{change_id}/approve", response_model=VendorChangeOut)
@router.post("/{vendor_id}/payout-address/{change_id}/approve", response_model=VendorChangeOut, include_in_schema=False)
async def approve_change(
    vendor_id: uuid.UUID, change_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal
) -> VendorChangeOut:
    """Approve a pending change: only someone other than its requester (403 `four_eyes`)."""
    async with treasurer.sessions.begin() as session:
        change = await vendor_changes.decide(session, change_id, principal.actor, approve=True, vendor_id=vendor_id)
        return VendorChangeOut.model_validate(change)


@router.post("/{vendor_id}/changes/{change_id}/reject", response_model=VendorChangeOut)
@router.post("/{vendor_id}/payout-address/{change_id}/reject", response_model=VendorChangeOut, include_in_schema=False)
async def reject_change(
    vendor_id: uuid.UUID, change_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal
) -> VendorChangeOut:
    async with treasurer.sessions.begin() as session:
        change = await vendor_changes.decide(session, change_id, principal.actor, approve=False, vendor_id=vendor_id)
        return VendorChangeOut.model_validate(change)
