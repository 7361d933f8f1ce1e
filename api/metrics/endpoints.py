"""`GET /metrics`: Prometheus text for scrapers (no credential, as scrapers expect), or with
`Accept: application/json` and an ops, admin or auditor credential, a summary people can read."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import Forbidden, current_principal
from api.metrics.snapshot import amount_processed, joined, take_snapshot
from finance.metrics import REGISTRY, http_totals
from finance.models import InvoiceStatus, PaymentStatus

router = APIRouter(tags=["metrics"])
# Optional here (auto_error=False): the text format needs no credential; only the JSON summary checks one.
_bearer = HTTPBearer(auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
_READERS = frozenset({"ops", "admin", "auditor"})
_NOT_YET_DECIDED = {InvoiceStatus.RECEIVED, InvoiceStatus.PROCESSING}
_TURNED_DOWN = {InvoiceStatus.BLOCKED, InvoiceStatus.REJECTED, InvoiceStatus.EXPIRED, InvoiceStatus.FAILED}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}, "application/json": {}}}},
)
async def metrics(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    if wants_json:
        # Checked before any query: an anonymous caller learns nothing and costs nothing.
        principal = await current_principal(request, bearer, api_key)
        if not principal.roles & _READERS:
            raise Forbidden(f"the metrics summary needs one of the roles {', '.join(sorted(_READERS))}")
    snapshot = await take_snapshot(request.app.state)
    if not wants_json:
        return Response(generate_latest(joined(REGISTRY, snapshot)), media_type=CONTENT_TYPE_LATEST)

    if snapshot.invoices is None or snapshot.payments is None:
        # Zeros would read as "nothing processed"; say the numbers are missing instead.
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "10"},
            content={"detail": "the database could not be read for the summary", "code": "unavailable"},
        )
    invoices, payments = snapshot.invoices, snapshot.payments
    requests, errors = http_totals()
    decimals = request.app.state.treasurer.context.token.decimals
    return JSONResponse(
        {
            "invoices_processed": sum(n for s, n in invoices.items() if s not in _NOT_YET_DECIDED),
            "transactions_approved": payments.get(PaymentStatus.CONFIRMED, 0),
            "transactions_rejected": sum(n for s, n in invoices.items() if s in _TURNED_DOWN),
            "total_amount_processed": format(amount_processed(snapshot, decimals), "f"),
            "api_requests": requests,
            "errors": errors,
            "uptime": round(time.monotonic() - request.app.state.started_monotonic, 3),
        }
    )
