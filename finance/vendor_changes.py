"""Four eyes on the vendor registry: verifying a new vendor, and changing what identifies or pays one.

One person registers a vendor; another verifies it before anything is paid to it. On a verified vendor, any
change to its name, aliases, tax id, bank accounts, category, payout address, or its reactivation is a pending
change that someone other than its requester approves; meanwhile the vendor is on hold (nothing is paid, neither
to the old details, which the request says may be wrong, nor to the new ones, which nobody has vouched for).
Deactivating only stops payments, so one person may do it at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.decisions import DecisionLog
from finance.errors import NotFound, TreasurerError
from finance.identity import Actor, require_other_person
from finance.models import Vendor, VendorChange, VendorChangeStatus, VendorStatus, utcnow
from finance.vendors import (
    VendorConflict,
    VendorRepository,
    checksum_payout_address,
    normalize_identifier,
    normalize_vendor_name,
)


class VendorChangeRefused(TreasurerError):
    status_code = 409
    code = "vendor_change_refused"


def _strings(values: list[str] | None) -> list[str]:
    return [v.strip() for v in values or [] if v and v.strip()]


# Each field a change may carry, and how its value is normalised before anyone sees it.
_NORMALISE: dict[str, Callable[[Any], Any]] = {
    "name": lambda value: value.strip(),
    "aliases": _strings,
    "tax_id": lambda value: normalize_identifier(value) if value else None,
    "category": lambda value: value.strip().lower() if value else None,
    "known_accounts": lambda values: [normalize_identifier(v) for v in _strings(values)],
    "payout_address": checksum_payout_address,
    "active": bool,
}
# What moves a vendor's payee: the people behind such a change vouch for the payee from then on.
_PAYEE_FIELDS = frozenset({"payout_address"})


def normalise(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(_NORMALISE))
    if unknown:
        raise VendorChangeRefused(f"{', '.join(unknown)} cannot be changed")
    if "name" in changes and not (changes["name"] or "").strip():
        raise VendorChangeRefused("a vendor needs a name")
    return {field: _NORMALISE[field](value) for field, value in changes.items()}


async def pending_change(session: AsyncSession, vendor_id: uuid.UUID) -> VendorChange | None:
    return await session.scalar(
        select(VendorChange).where(
            VendorChange.vendor_id == vendor_id, VendorChange.status == VendorChangeStatus.PENDING
        )
    )


async def pending_changes(session: AsyncSession) -> list[VendorChange]:
    return list(
        await session.scalars(
            select(VendorChange)
            .where(VendorChange.status == VendorChangeStatus.PENDING)
            .order_by(VendorChange.requested_at)
        )
    )


def unverified_reason(vendor: Vendor) -> str | None:
    if vendor.status == VendorStatus.VERIFIED:
        return None
    return f"{vendor.name} awaits verification by someone other than {vendor.registered_by or 'its registrar'}"


async def change_hold_reason(session: AsyncSession, vendor: Vendor) -> str | None:
    change = await pending_change(session, vendor.id)
    if change is None:
        return None
    return f"a change of {', '.join(sorted(change.changes))} requested by {change.requested_by} awaits approval"


async def hold_reason(session: AsyncSession, vendor: Vendor) -> str | None:
    """Why nothing may be paid to this vendor now, or None."""
    return unverified_reason(vendor) or await change_hold_reason(session, vendor)


async def verify(session: AsyncSession, vendor_id: uuid.UUID, actor: Actor) -> Vendor:
    vendor = await _locked_vendor(session, vendor_id)
    if vendor.status == VendorStatus.VERIFIED:
        raise VendorChangeRefused(f"{vendor.name} is already verified")
    require_other_person(
        actor,
        [str(vendor.registered_by_user_id) if vendor.registered_by_user_id else None, *vendor.payee_vouched_by],
        "a vendor must be verified by someone other than the people who registered or edited it",
    )
    vendor.status = VendorStatus.VERIFIED
    vendor.verified_by = actor.name
    vendor.verified_by_user_id = actor.user_id
    vendor.verified_at = utcnow()
    vendor.payee_since = vendor.verified_at
    vendor.payee_vouched_by = _with(vendor.payee_vouched_by, actor)
    await DecisionLog(session).append(
        invoice_id=None,
        step="vendor",
        outcome="verified",
        reason=f"{actor.name} verified {vendor.name}, paid at {vendor.payout_address}",
        details={
            "vendor_id": vendor.id,
            "payout_address": vendor.payout_address,
            "registered_by": vendor.registered_by,
        },
        actor=actor.name,
    )
    return vendor


async def request(
    session: AsyncSession, vendor_id: uuid.UUID, changes: dict[str, Any], actor: Actor
) -> VendorChange | None:
    """Ask for a change. Returns the pending change, or None when it applied at once (a deactivation, or an
    edit of a vendor nobody has verified yet: its verifier will vouch for the result)."""
    vendor = await _locked_vendor(session, vendor_id)
    wanted = {f: v for f, v in normalise(changes).items() if getattr(vendor, f) != v}
    if not wanted:
        raise VendorChangeRefused(f"nothing to change: {vendor.name} already has these values")
    if wanted == {"active": False} or vendor.status != VendorStatus.VERIFIED:
        await _apply(session, vendor, wanted)
        if vendor.status != VendorStatus.VERIFIED:
            vendor.payee_vouched_by = _with(vendor.payee_vouched_by, actor)
        outcome = "deactivated" if wanted == {"active": False} else "updated"
        await DecisionLog(session).append(
            invoice_id=None,
            step="vendor",
            outcome=outcome,
            reason=f"{actor.name} changed {', '.join(sorted(wanted))} of {vendor.name}",
            details={"vendor_id": vendor.id, "changes": wanted},
            actor=actor.name,
        )
        return None
    if "active" in wanted and len(wanted) > 1:
        raise VendorChangeRefused("reactivate a vendor on its own, then change its details")
    change = VendorChange(
        vendor_id=vendor.id,
        changes=wanted,
        previous={f: getattr(vendor, f) for f in wanted},
        status=VendorChangeStatus.PENDING,
        requested_by=actor.name,
        requested_by_user_id=actor.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(change)
    except IntegrityError as exc:
        raise VendorChangeRefused(f"{vendor.name} already has a change awaiting approval") from exc
    await DecisionLog(session).append(
        invoice_id=None,
        step="vendor",
        outcome="change_requested",
        reason=f"{actor.name} asked to change {', '.join(sorted(wanted))} of {vendor.name}; held until someone "
        "else approves",
        details={"vendor_id": vendor.id, "change_id": change.id, "changes": wanted, "previous": change.previous},
        actor=actor.name,
    )
    return change


async def decide(
    session: AsyncSession, change_id: uuid.UUID, actor: Actor, *, approve: bool, vendor_id: uuid.UUID | None = None
) -> VendorChange:
    change = await session.scalar(select(VendorChange).where(VendorChange.id == change_id).with_for_update())
    if change is None or (vendor_id is not None and change.vendor_id != vendor_id):
        raise NotFound(f"no vendor change {change_id}")
    if change.status != VendorChangeStatus.PENDING:
        raise VendorChangeRefused(f"this change was already {change.status}")
    if approve:
        require_other_person(
            actor,
            [str(change.requested_by_user_id) if change.requested_by_user_id else None],
            "a vendor change must be approved by someone other than its requester",
        )
    vendor = await _locked_vendor(session, change.vendor_id)
    if approve:
        await _apply(session, vendor, change.changes)
        if _PAYEE_FIELDS & change.changes.keys():
            vendor.payee_since = utcnow()
            vendor.payee_vouched_by = [
                str(change.requested_by_user_id) if change.requested_by_user_id else "",
                str(actor.user_id),
            ]
    change.status = VendorChangeStatus.APPROVED if approve else VendorChangeStatus.REJECTED
    change.decided_by = actor.name
    change.decided_by_user_id = actor.user_id
    change.decided_at = utcnow()
    verb = "approved" if approve else "rejected"
    await DecisionLog(session).append(
        invoice_id=None,
        step="vendor",
        outcome=f"change_{verb}",
        reason=f"{actor.name} {verb} changing {', '.join(sorted(change.changes))} of {vendor.name}",
        details={
            "vendor_id": vendor.id,
            "change_id": change.id,
            "changes": change.changes,
            "previous": change.previous,
        },
        actor=actor.name,
    )
    return change


async def _apply(session: AsyncSession, vendor: Vendor, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(vendor, field, value)
    if "name" in changes:
        vendor.normalized_name = normalize_vendor_name(changes["name"])
    if {"name", "aliases"} & changes.keys():
        await VendorRepository(session).refuse_name_clash(vendor)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise VendorConflict("another vendor already has this name or tax id") from exc


async def _locked_vendor(session: AsyncSession, vendor_id: uuid.UUID) -> Vendor:
    vendor = await session.scalar(
        select(Vendor).where(Vendor.id == vendor_id).with_for_update().execution_options(populate_existing=True)
    )
    if vendor is None:
        raise NotFound(f"no vendor {vendor_id}")
    return vendor


def _with(vouchers: list[str], actor: Actor) -> list[str]:
    return list(dict.fromkeys([*vouchers, *([actor.user_key] if actor.user_key else [])]))
