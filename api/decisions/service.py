"""The decision log read back for auditors: pages, a CSV export that spreadsheets cannot turn into formulas,
and the hash-chain check."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.decisions.schemas import DecisionOut, DecisionPage, VerificationOut
from finance.decision_queries import DecisionFilter, count_decisions, page_of_decisions, stream_decisions
from finance.decisions import DecisionLog
from finance.errors import TreasurerError
from finance.models import Decision, as_utc

CSV_HEADER = (
    "id",
    "created_at",
    "invoice_id",
    "step",
    "outcome",
    "actor",
    "reason",
    "details_json",
    "prev_hash",
    "hash",
)
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection"); tab and carriage
# return are on OWASP's list too, since some programs strip them before looking.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows are sent in chunks of about this many bytes: one ASGI message per row would be slow for a long log.
_CHUNK_BYTES = 64 * 1024


class InvalidFilter(TreasurerError):
    status_code = 422
    code = "invalid_request"


def utc(moment: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC, the zone every decision is recorded in.
    return None if moment is None else as_utc(moment)


def check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidFilter(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")


async def page(session: AsyncSession, where: DecisionFilter, *, limit: int, offset: int) -> DecisionPage:
    return DecisionPage(
        items=[
            DecisionOut.model_validate(row)
            for row in await page_of_decisions(session, where, limit=limit, offset=offset)
        ],
        total=await count_decisions(session, where),
        limit=limit,
        offset=offset,
    )


async def verify(session: AsyncSession) -> VerificationOut:
    result = await DecisionLog(session).verify()
    return VerificationOut(ok=result.ok, checked=result.checked, first_bad_id=result.first_bad_id)


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text. The quote is the only change, so strip it to recompute a hash."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cells(row: Decision) -> list[str]:
    created_at = utc(row.created_at)
    details = json.dumps(row.details or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    values = (
        str(row.id),
        created_at.isoformat(),
        str(row.invoice_id) if row.invoice_id else "",
        row.step,
        row.outcome,
        row.actor,
        row.reason,
        details,
        row.prev_hash,
        row.hash,
    )
    return [safe_cell(v) for v in values]


async def csv_chunks(sessions: async_sessionmaker[AsyncSession], where: DecisionFilter) -> AsyncIterator[str]:
    """The header first, then the rows in chain order. The query runs before the header is yielded, so the
    caller can take the first chunk to learn of a failing database while it can still answer with an error."""
    async with sessions() as session:
        rows = await stream_decisions(session, where)
        buffer = io.StringIO()
        # The csv module quotes commas, quotes and newlines in a cell (RFC 4180, CRLF line ends).
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        async for row in rows:
            writer.writerow(_cells(row))
            if buffer.tell() >= _CHUNK_BYTES:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue()
