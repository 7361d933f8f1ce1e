"""Duplicate detection by claims on a bill's identity, race-safe by primary key (not check-then-insert).

A bill is claimed under several keys at once. Two keys say "the same bill" and block: the vendor's normalised
invoice number, and the same document text. The others say "perhaps the same bill" and send it to a person:
the number read loosely (leading zeros, a generic prefix), the same amount from the same vendor within a few
days of the date, and the same amount with the same line items within a few weeks. A re-issued bill (a new
date, a zero dropped from its number, a PO number read as the invoice number) matches at least one of them.

The date windows are claimed as one key per day around the issue date, so two bills whose windows overlap meet
on a primary key: of two racing submissions exactly one owns each key, whatever the timing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from finance.invoices import normalize_invoice_number
from finance.models import InvoiceClaim

# Half the window, in days, within which the same amount from the same vendor is a possible duplicate.
AMOUNT_WINDOW_DAYS = 3
# The same, with the same line items too: wide enough for a bill re-issued weeks later, narrow enough that a
# monthly subscription (the same lines every month) is not taken for its own copy.
LINES_WINDOW_DAYS = 10
# Words that label a number rather than belong to it: "INV-0117", "No. 117" and "117" are read alike.
_GENERIC_PREFIXES = ("INVOICE", "INV", "NO", "NR", "NUM", "NUMBER", "RECHNUNG", "RE", "FACTURE", "FAC", "FACTUUR")
_BLOCKING = ("number", "text")


@dataclass(frozen=True)
class ClaimResult:
    duplicate_of: uuid.UUID | None  # the same bill: same vendor and invoice number, or the same document
    possible_duplicate_of: uuid.UUID | None  # perhaps the same bill: see the module's docstring
    why_possible: str | None = None  # which key matched, for the reason a person reads


@dataclass(frozen=True)
class BillLine:
    description: str | None
    amount: str | None


def loose_invoice_number(number: str) -> str:
    """The number with its generic prefix and the leading zeros of each digit group removed: `INV-2024-0117`,
    `2024-117` and `No. 2024/117` read alike. Too loose to block on; close enough to ask a person."""
    tokens = re.findall(r"[A-Z]+|\d+", unicodedata.normalize("NFKC", number).upper())
    while len(tokens) > 1 and tokens[0] in _GENERIC_PREFIXES:
        tokens = tokens[1:]
    return "-".join(t.lstrip("0") or "0" if t.isdigit() else t for t in tokens)


def document_digest(text: str) -> str:
    """The same document, however its whitespace or letter case was changed on the way."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()


def _lines_digest(lines: Sequence[BillLine]) -> str | None:
    described = []
    for line in lines:
        words = " ".join((line.description or "").casefold().split())
        try:
            amount = str(Decimal(line.amount).normalize()) if line.amount is not None else ""
        except InvalidOperation:
            amount = ""
        if words or amount:
            described.append(f"{words}|{amount}")
    if len(described) < 1:
        return None
    return hashlib.sha256("\n".join(sorted(described)).encode()).hexdigest()[:32]


def bill_keys(
    vendor_id: uuid.UUID,
    invoice_number: str | None,
    total_units: int | None,
    issue_date: str | None,
    *,
    text: str | None = None,
    lines: Sequence[BillLine] = (),
) -> dict[str, str]:
    """Every key this bill claims, by kind. Keys of one kind from one vendor are comparable; the day keys of the
    amount window share the kind `amount_window`, so several of them map to one kind: see `claim_bill`."""
    keys: dict[str, str] = {}
    if invoice_number and normalize_invoice_number(invoice_number):
        keys["number"] = f"{vendor_id}:no:{normalize_invoice_number(invoice_number)}"
        loose = loose_invoice_number(invoice_number)
        if loose:
            keys["number_loose"] = f"{vendor_id}:noloose:{loose}"
    if text:
        keys["text"] = f"{vendor_id}:text:{document_digest(text)}"
    day = _day(issue_date)
    if total_units is not None and day is not None:
        for offset in range(-AMOUNT_WINDOW_DAYS, AMOUNT_WINDOW_DAYS + 1):
            when = (day + timedelta(days=offset)).isoformat()
            keys["amount_date" if offset == 0 else f"amount_window:{offset}"] = f"{vendor_id}:amt:{total_units}:{when}"
        digest = _lines_digest(lines)
        if digest:
            for offset in range(-LINES_WINDOW_DAYS, LINES_WINDOW_DAYS + 1):
                when = (day + timedelta(days=offset)).isoformat()
                keys[f"lines:{offset}"] = f"{vendor_id}:lines:{total_units}:{digest}:{when}"
    return keys


def _day(issue_date: str | None) -> date | None:
    try:
        return date.fromisoformat(issue_date) if issue_date else None
    except ValueError:
        return None


# In the order a person is told: the closest likeness first. None keeps the policy's own wording.
_WHY: dict[str, str | None] = {
    "number_loose": "the same invoice number read loosely (leading zeros or a prefix aside)",
    "amount_date": None,
    "amount_window": f"the same amount within {AMOUNT_WINDOW_DAYS} days of its date",
    "lines": f"the same amount and the same line items within {2 * LINES_WINDOW_DAYS} days",
}


async def claim_bill(session: AsyncSession, invoice_id: uuid.UUID, keys: dict[str, str]) -> ClaimResult:
    if not keys:
        return ClaimResult(None, None)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    kinds = {key: kind.split(":", 1)[0] for kind, key in keys.items()}
    # One statement for every key, then one read of who owns them: a key another invoice holds stays theirs.
    await session.execute(
        insert(InvoiceClaim)
        .values([{"key": key, "invoice_id": invoice_id, "kind": kind} for key, kind in kinds.items()])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = await session.execute(
        select(InvoiceClaim.key, InvoiceClaim.invoice_id, InvoiceClaim.kind).where(InvoiceClaim.key.in_(kinds))
    )
    others: dict[str, uuid.UUID] = {}
    for key, owner, their_kind in rows:
        if owner == invoice_id:
            continue
        kind = kinds[key]
        if kind == "amount_date" and their_kind != "amount_date":
            kind = "amount_window"  # the same day for us, a neighbouring day for them: not the same date
        others.setdefault(kind, owner)
    duplicate = next((others[kind] for kind in _BLOCKING if kind in others), None)
    possible_kind = next((kind for kind in _WHY if kind in others), None)
    if possible_kind is None:
        return ClaimResult(duplicate_of=duplicate, possible_duplicate_of=None)
    return ClaimResult(duplicate, others[possible_kind], _WHY[possible_kind])


async def release_claims(session: AsyncSession, invoice_id: uuid.UUID) -> None:
    await session.execute(delete(InvoiceClaim).where(InvoiceClaim.invoice_id == invoice_id))
