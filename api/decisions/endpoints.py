"""The decision log for auditors: read it with filters, export it as CSV, verify its hash chain."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.auth import require_roles
from api.decisions import service
from api.decisions.schemas import DecisionPage, VerificationOut
from api.deps import TreasurerDep
from finance.api_keys import Principal
from finance.decision_queries import DecisionFilter

router = APIRouter(prefix="/api/decisions", tags=["decisions"])

AuditorPrincipal = Annotated[Principal, Depends(require_roles("auditor", "admin", "ops"))]

_ERRORS = {
    401: {"description": "No valid access token or API key"},
    403: {"description": "The caller has none of the roles auditor, admin, ops"},
    422: {"description": "A filter is malformed, or since is not before until"},
}


def _filter(
    invoice_id: Annotated[uuid.UUID | None, Query(description="Only decisions about this invoice.")] = None,
    step: Annotated[str | None, Query(max_length=32, examples=["evaluate"])] = None,
    outcome: Annotated[str | None, Query(max_length=32, examples=["require_approval"])] = None,
    actor: Annotated[str | None, Query(max_length=200, examples=["treasurer"])] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive; UTC when no zone is given.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive; UTC when no zone is given.")] = None,
) -> DecisionFilter:
    since, until = service.utc(since), service.utc(until)
    service.check_window(since, until)
    return DecisionFilter(invoice_id=invoice_id, step=step, outcome=outcome, actor=actor, since=since, until=until)


FilterDep = Annotated[DecisionFilter, Depends(_filter)]


@router.get("", response_model=DecisionPage, responses=_ERRORS)
async def list_decisions(
    treasurer: TreasurerDep,
    _: AuditorPrincipal,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DecisionPage:
    """Decisions in chain order (id ascending), with their hashes, filtered and paginated."""
    async with treasurer.sessions() as session:
        return await service.page(session, where, limit=limit, offset=offset)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**_ERRORS, 200: {"description": "The matching decisions as CSV", "content": {"text/csv": {}}}},
)
async def export_decisions(treasurer: TreasurerDep, _: AuditorPrincipal, where: FilterDep) -> StreamingResponse:
    """Every matching decision as CSV, streamed in chain order; same filters as `GET /api/decisions`. Columns:
    id, created_at, invoice_id, step, outcome, actor, reason, details_json, prev_hash, hash. A cell starting
    with = + - @ (or tab, CR) gets a leading `'` so spreadsheets show it as text instead of running it."""
    chunks = service.csv_chunks(treasurer.sessions, where)
    # The first chunk runs the query: a database failure still gets its error status, not a cut-off file.
    header = await anext(chunks)

    async def body() -> AsyncIterator[str]:
        yield header
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="decisions.csv"'},
    )


@router.get("/verify", response_model=VerificationOut, responses={401: _ERRORS[401], 403: _ERRORS[403]})
async def verify_decisions(treasurer: TreasurerDep, _: AuditorPrincipal) -> VerificationOut:
    """Recompute every hash in order: ok when nothing was altered, inserted or deleted; otherwise the first
    row that does not verify. Reads the whole log, so it takes as long as the log is long."""
    async with treasurer.sessions() as session:
        return await service.verify(session)
