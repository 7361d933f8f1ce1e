"""Duplicate detection by claims on a bill's identity, race-safe by primary key (not check-then-insert)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from finance.invoices import normalize_invoice_number
from finance.models import InvoiceClaim


@dataclass(frozen=True)
class ClaimResult:
    duplicate_of: uuid.UUID | None  # same vendor and invoice number: the same bill
    possible_duplicate_of: uuid.UUID | None  # same vendor, amount and date, another number


def bill_keys(
    vendor_id: uuid.UUID, invoice_number: str | None, total_units: int | None, issue_date: str | None
) -> dict[str, str]:
    keys = {}
    if invoice_number and normalize_invoice_number(invoice_number):
        keys["number"] = f"{vendor_id}:no:{normalize_invoice_number(invoice_number)}"
    if total_units is not None and issue_date:
        keys["amount_date"] = f"{vendor_id}:amt:{total_units}:{issue_date}"
    return keys


async def claim_bill(session: AsyncSession, invoice_id: uuid.UUID, keys: dict[str, str]) -> ClaimResult:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    owners: dict[str, uuid.UUID] = {}
    for kind, key in keys.items():
        await session.execute(
            insert(InvoiceClaim)
            .values(key=key, invoice_id=invoice_id, kind=kind)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        owners[kind] = await session.scalar(select(InvoiceClaim.invoice_id).where(InvoiceClaim.key == key))
    others = {kind: owner for kind, owner in owners.items() if owner != invoice_id}
    return ClaimResult(duplicate_of=others.get("number"), possible_duplicate_of=others.get("amount_date"))


async def release_claims(session: AsyncSession, invoice_id: uuid.UUID) -> None:
    await session.execute(delete(InvoiceClaim).where(InvoiceClaim.invoice_id == invoice_id))
