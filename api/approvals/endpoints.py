"""The approvals API for people signed in with an access token (or a service's API key): the same rules
as the e-mailed links, since both go through `finance.approvals.votes`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.approvals.schemas import ApprovalOut, CancelIn, VoteIn
from api.approvals.service import approval_view, cancel_request, vote
from api.auth import require_roles
from api.deps import TreasurerDep
from finance.api_keys import Principal
from finance.approvals.queries import request_for_invoice, requests_for_approver
from finance.errors import NotFound
from finance.models import ApprovalStatus

router = APIRouter(prefix="/api", tags=["approvals"])

ApproverPrincipal = Annotated[Principal, Depends(require_roles("approver"))]
# Withdrawing a request only stops a payment, so an admin may do it too.
CancellerPrincipal = Annotated[Principal, Depends(require_roles("cfo", "admin"))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles("approver", "cfo", "ops", "auditor", "admin"))]

_ERRORS = {
    403: {"description": "Not an approver of this request (or not the submitter, for a cancel)"},
    404: {"description": "No such approval request"},
    409: {"description": "Already decided, expired, or already voted: nothing was changed"},
}


@router.get("/approvals", response_model=list[ApprovalOut])
async def my_approvals(
    principal: ApproverPrincipal,
    treasurer: TreasurerDep,
    status: Annotated[Literal["pending", "approved", "rejected", "expired", "cancelled", "all"], Query()] = "pending",
) -> list[ApprovalOut]:
    """Approval requests that name the caller as an approver: by default those still waiting, soonest deadline first."""
    async with treasurer.sessions() as session:
        wanted = None if status == "all" else ApprovalStatus(status)
        requests = await requests_for_approver(session, principal.name, status=wanted)
        return [ApprovalOut.of(await approval_view(session, r.id)) for r in requests]


@router.get("/approvals/{request_id}", response_model=ApprovalOut, responses={404: _ERRORS[404]})
async def get_approval(request_id: uuid.UUID, _: ReaderPrincipal, treasurer: TreasurerDep) -> ApprovalOut:
    async with treasurer.sessions() as session:
        return ApprovalOut.of(await approval_view(session, request_id))


@router.post("/approvals/{request_id}/approve", response_model=ApprovalOut, responses=_ERRORS)
async def approve(
    request_id: uuid.UUID, body: VoteIn, principal: ApproverPrincipal, treasurer: TreasurerDep
) -> ApprovalOut:
    """Approve as the caller. When this reaches the quorum, the payment follows."""
    return await _vote(treasurer, request_id, principal, "approve", body)


@router.post("/approvals/{request_id}/reject", response_model=ApprovalOut, responses=_ERRORS)
async def reject(
    request_id: uuid.UUID, body: VoteIn, principal: ApproverPrincipal, treasurer: TreasurerDep
) -> ApprovalOut:
    """Reject as the caller. Unless the tier says otherwise, one rejection ends the request unpaid."""
    return await _vote(treasurer, request_id, principal, "reject", body)


@router.post("/approvals/{request_id}/cancel", response_model=ApprovalOut, responses=_ERRORS)
async def cancel(
    request_id: uuid.UUID, body: CancelIn, principal: CancellerPrincipal, treasurer: TreasurerDep
) -> ApprovalOut:
    """Withdraw a waiting request: the invoice's submitter or an admin. Nothing is paid."""
    await cancel_request(
        treasurer, request_id, principal.actor, is_admin="admin" in principal.roles, reason=body.reason
    )
    async with treasurer.sessions() as session:
        return ApprovalOut.of(await approval_view(session, request_id))


@router.get("/invoices/{invoice_id}/approval", response_model=ApprovalOut, responses={404: _ERRORS[404]})
async def invoice_approval(invoice_id: uuid.UUID, _: ReaderPrincipal, treasurer: TreasurerDep) -> ApprovalOut:
    """The invoice's approval request with its full vote history."""
    async with treasurer.sessions() as session:
        request = await request_for_invoice(session, invoice_id)
        if request is None:
            raise NotFound(f"invoice {invoice_id} has no approval request")
        return ApprovalOut.of(await approval_view(session, request.id))


async def _vote(treasurer, request_id: uuid.UUID, principal: Principal, decision: str, body: VoteIn) -> ApprovalOut:
    await vote(treasurer, request_id, principal.actor, decision, channel="api", comment=body.comment)
    async with treasurer.sessions() as session:
        return ApprovalOut.of(await approval_view(session, request_id))
