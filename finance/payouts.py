"""Changing where a vendor is paid: requested by one person, effective only when a second approves.

Until then the vendor is on hold: nothing is paid to it, neither to the old address (the request
says it may be wrong) nor to the new one (nobody has vouched for it yet).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.decisions import DecisionLog
from finance.errors import NotFound, TreasurerError
from finance.models import PayoutChangeStatus, Vendor, VendorPayoutChange, utcnow
from finance.vendors import checksum_payout_address


class PayoutChangeRefused(TreasurerError):
    status_code = 409
    code = "payout_change_refused"


class SamePersonApproval(TreasurerError):
    status_code = 403
    code = "four_eyes"


async def pending_change(session: AsyncSession, vendor_id: uuid.UUID) -> VendorPayoutChange | None:
    return await session.scalar(
        select(VendorPayoutChange).where(
            VendorPayoutChange.vendor_id == vendor_id, VendorPayoutChange.status == PayoutChangeStatus.PENDING
        )
    )


async def hold_reason(session: AsyncSession, vendor_id: uuid.UUID) -> str | None:
    change = await pending_change(session, vendor_id)
    if change is None:
        return None
    return f"a payout address change to {change.new_address} requested by {change.requested_by} awaits approval"


async def request_change(
    session: AsyncSession, vendor: Vendor, new_address: str, requested_by: str
) -> VendorPayoutChange:
    address = checksum_payout_address(new_address)
    if address == vendor.payout_address:
        raise PayoutChangeRefused(f"{address} is already the payout address of {vendor.name}")
    change = VendorPayoutChange(
        vendor_id=vendor.id, old_address=vendor.payout_address, new_address=address, requested_by=requested_by
    )
    try:
        async with session.begin_nested():
            session.add(change)
    except IntegrityError as exc:
        raise PayoutChangeRefused(f"{vendor.name} already has a payout address change awaiting approval") from exc
    await DecisionLog(session).append(
        invoice_id=None,
        step="vendor",
        outcome="payout_change_requested",
        reason=f"{requested_by} asked to pay {vendor.name} at {address} instead of {vendor.payout_address}",
        details={"vendor_id": vendor.id, "change_id": change.id, "old": vendor.payout_address, "new": address},
        actor=requested_by,
    )
    return change


async def decide_change(
    session: AsyncSession, change_id: uuid.UUID, decided_by: str, *, approve: bool, vendor_id: uuid.UUID | None = None
) -> VendorPayoutChange:
    change = await session.scalar(
        select(VendorPayoutChange).where(VendorPayoutChange.id == change_id).with_for_update()
    )
    if change is None or (vendor_id is not None and change.vendor_id != vendor_id):
        raise NotFound(f"no payout address change {change_id}")
    if change.status != PayoutChangeStatus.PENDING:
        raise PayoutChangeRefused(f"this change was already {change.status}")
    if approve and decided_by == change.requested_by:
        # Four eyes: the person who asked for a new address can never be the one who confirms it.
        raise SamePersonApproval("a payout address change must be approved by someone other than its requester")
    vendor = await session.scalar(select(Vendor).where(Vendor.id == change.vendor_id).with_for_update())
    change.status = PayoutChangeStatus.APPROVED if approve else PayoutChangeStatus.REJECTED
    change.decided_by = decided_by
    change.decided_at = utcnow()
    if approve:
        vendor.payout_address = change.new_address
    await DecisionLog(session).append(
        invoice_id=None,
        step="vendor",
        outcome="payout_change_approved" if approve else "payout_change_rejected",
        reason=f"{decided_by} {'approved' if approve else 'rejected'} paying {vendor.name} at {change.new_address}",
        details={"vendor_id": vendor.id, "change_id": change.id, "old": change.old_address, "new": change.new_address},
        actor=decided_by,
    )
    return change
