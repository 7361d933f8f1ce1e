"""The dashboard: the original design's treasury summary with alerts, and its activity log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require_roles
from api.dashboard import service
from api.dashboard.schemas import DashboardOut, LogEntry
from api.deps import SettingsDep, TreasurerDep
from finance.api_keys import Principal

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])

# Approvers too: they decide on invoices, and the runway is part of what they weigh.
DashboardPrincipal = Annotated[Principal, Depends(require_roles("cfo", "ops", "auditor", "admin", "approver"))]

_ERRORS = {
    401: {"description": "No valid access token or API key"},
    403: {"description": "The caller has none of the roles cfo, ops, auditor, admin, approver"},
}


@router.get("", response_model=DashboardOut, responses=_ERRORS)
async def get_dashboard(treasurer: TreasurerDep, settings: SettingsDep, _: DashboardPrincipal) -> DashboardOut:
    """Treasury balance, monthly burn and runway, with alerts for what needs a person: low runway, invoices
    waiting for approval or close to their deadline, payments stuck or failed. Answers even when the chain
    is unreachable (balance null, a critical alert)."""
    return await service.dashboard(treasurer, settings)


@router.get("/logs", response_model=list[LogEntry], responses=_ERRORS)
async def get_logs(
    treasurer: TreasurerDep,
    _: DashboardPrincipal,
    limit: Annotated[int, Query(ge=1, le=500, description="How many entries, newest first.")] = 50,
) -> list[LogEntry]:
    """The latest decisions, newest first: what was decided (`event`, `status`), why, the balance the policy
    saw and the amount the invoice required. `GET /api/decisions` has the full, filterable log."""
    return await service.logs(treasurer, limit)
