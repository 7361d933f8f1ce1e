"""Live updates for the pages: decisions as server-sent events.

Each connection polls the decision log for rows after the last one it sent. PostgreSQL is the only
source, so an event reaches every browser whichever replica wrote it, and a browser that reconnects
(EventSource does so by itself, sending `Last-Event-ID`) continues where it stopped."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from api.deps import TreasurerDep
from api.web.session import WebUser
from finance.models import Decision, Invoice

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 1.0
# A stream ends after this long; the browser reconnects and resumes from Last-Event-ID. It bounds what a
# forgotten tab holds on the server.
MAX_STREAM_SECONDS = 300


@router.get("/app/events")
async def events(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    after: Annotated[int, Query(ge=0)] = 0,
    invoice: uuid.UUID | None = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after

    async def stream() -> AsyncIterator[str]:
        last = start
        yield "retry: 2000\n\n"
        for _ in range(int(MAX_STREAM_SECONDS / POLL_SECONDS)):
            if await request.is_disconnected():
                return
            async with treasurer.sessions() as session:
                query = (
                    select(Decision, Invoice.invoice_number, Invoice.vendor_name, Invoice.status)
                    .outerjoin(Invoice, Invoice.id == Decision.invoice_id)
                    .where(Decision.id > last)
                    .order_by(Decision.id)
                    .limit(100)
                )
                if invoice is not None:
                    query = query.where(Decision.invoice_id == invoice)
                rows = (await session.execute(query)).all()
            for decision, number, vendor, status in rows:
                last = decision.id
                payload = {
                    "id": decision.id,
                    "invoice_id": str(decision.invoice_id) if decision.invoice_id else None,
                    "invoice": number,
                    "vendor": vendor,
                    "invoice_status": status,
                    "step": decision.step,
                    "outcome": decision.outcome,
                    "reason": decision.reason,
                    "actor": decision.actor,
                    "at": decision.created_at.isoformat(timespec="seconds"),
                }
                yield f"id: {decision.id}\nevent: decision\ndata: {json.dumps(payload)}\n\n"
            if not rows:
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
