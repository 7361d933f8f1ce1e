"""Policies for ops: read, validate, draft, dry-run, publish, history; proposals awaiting a second person; and
the original design's per-invoice-limit shortcut, which publishes a new version like any other change.

A publish that loosens any control answers 202 with a proposal instead of 200 with the new version; only another
ops user (compared by user id) can approve it. The rule is enforced in `finance.policy_changes`, not here."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from api.auth import OpsPrincipal, ReaderPrincipal
from api.deps import TreasurerDep
from api.policies import service
from api.policies.schemas import (
    DocumentIn,
    DraftIn,
    DryRunOut,
    LimitChangePending,
    LimitIn,
    LimitOut,
    LimitUpdated,
    PolicyVersionOut,
    RejectIn,
    ValidationOut,
)
from finance import policy_changes
from finance.errors import NotFound
from finance.models import PolicyStatus, PolicyVersion
from finance.policy_store import PolicyStore

router = APIRouter(tags=["policies"])

_FOUR_EYES = {
    403: {"description": "`four_eyes`: the proposer tried to approve their own change"},
    409: {"description": "not a proposal awaiting approval, or `stale_proposal`: the active version changed since"},
}


def _published_or_proposed(row: PolicyVersion) -> JSONResponse:
    code = status.HTTP_202_ACCEPTED if row.status == PolicyStatus.PROPOSED else status.HTTP_200_OK
    return JSONResponse(PolicyVersionOut.model_validate(row).model_dump(mode="json"), status_code=code)


@router.get("/api/policies/active", response_model=PolicyVersionOut)
async def active_policy(treasurer: TreasurerDep, _: ReaderPrincipal) -> PolicyVersionOut:
    async with treasurer.sessions() as session:
        row = await PolicyStore(session).active()
    if row is None:
        raise NotFound("no policy is active")
    return PolicyVersionOut.model_validate(row)


@router.get("/api/policies", response_model=list[PolicyVersionOut])
async def policy_history(treasurer: TreasurerDep, _: ReaderPrincipal) -> list[PolicyVersionOut]:
    """Every published version, newest first: who published it, when, and the document."""
    async with treasurer.sessions() as session:
        return [PolicyVersionOut.model_validate(row) for row in await PolicyStore(session).history()]


@router.post("/api/policies/validate", response_model=ValidationOut)
async def validate_policy(body: DocumentIn, _: OpsPrincipal) -> ValidationOut:
    document = service.validate_document(body.document)
    return ValidationOut(valid=True, rules=len(document.rules), tiers=len(document.tiers))


@router.get("/api/policies/drafts", response_model=list[PolicyVersionOut])
async def list_drafts(treasurer: TreasurerDep, _: OpsPrincipal) -> list[PolicyVersionOut]:
    async with treasurer.sessions() as session:
        return [PolicyVersionOut.model_validate(row) for row in await PolicyStore(session).drafts()]


@router.post("/api/policies/drafts", status_code=status.HTTP_201_CREATED, response_model=PolicyVersionOut)
async def create_draft(body: DraftIn, treasurer: TreasurerDep, principal: OpsPrincipal) -> PolicyVersionOut:
    async with treasurer.sessions.begin() as session:
        row = await service.create_draft(session, body.document, principal.actor, body.comment)
        return PolicyVersionOut.model_validate(row)


@router.get("/api/policies/drafts/{draft_id}", response_model=PolicyVersionOut)
async def get_draft(draft_id: uuid.UUID, treasurer: TreasurerDep, _: OpsPrincipal) -> PolicyVersionOut:
    async with treasurer.sessions() as session:
        return PolicyVersionOut.model_validate(await PolicyStore(session).get(draft_id))


@router.put("/api/policies/drafts/{draft_id}", response_model=PolicyVersionOut)
async def update_draft(
    draft_id: uuid.UUID, body: DraftIn, treasurer: TreasurerDep, _: OpsPrincipal
) -> PolicyVersionOut:
    async with treasurer.sessions.begin() as session:
        return PolicyVersionOut.model_validate(
            await service.update_draft(session, draft_id, body.document, body.comment)
        )


@router.post("/api/policies/drafts/{draft_id}/dry-run", response_model=DryRunOut)
async def dry_run_draft(
    draft_id: uuid.UUID,
    treasurer: TreasurerDep,
    _: OpsPrincipal,
    limit: Annotated[int, Query(ge=1, le=10_000, description="How many recent invoices to replay.")] = 500,
) -> DryRunOut:
    """Which recent invoices would move between allow, approval and block if this draft were live."""
    async with treasurer.sessions() as session:
        document = service.validate_document((await PolicyStore(session).get(draft_id)).document)
        return await service.dry_run(session, document, limit)


@router.post(
    "/api/policies/drafts/{draft_id}/publish",
    response_model=PolicyVersionOut,
    responses={
        202: {"model": PolicyVersionOut, "description": "It loosens a control: proposed, awaiting a second ops user"},
        409: {"description": "already published, rejected, or awaiting approval"},
    },
)
async def publish_draft(draft_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> JSONResponse:
    """Publish a draft. `200` with the new active version when it only tightens (or changes nothing that loosens);
    `202` with a proposal (status `proposed`, its `loosenings` listed) when it loosens anything."""
    async with treasurer.sessions.begin() as session:
        return _published_or_proposed(await service.publish(session, draft_id, principal.actor))


@router.get("/api/policies/proposals", response_model=list[PolicyVersionOut])
async def list_proposals(treasurer: TreasurerDep, _: OpsPrincipal) -> list[PolicyVersionOut]:
    """Changes that loosen a control and await a second ops user, newest first."""
    async with treasurer.sessions() as session:
        return [PolicyVersionOut.model_validate(row) for row in await PolicyStore(session).proposals()]


@router.post("/api/policies/proposals/{proposal_id}/approve", response_model=PolicyVersionOut, responses=_FOUR_EYES)
async def approve_proposal(
    proposal_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal
) -> PolicyVersionOut:
    """Publish a proposal, as a second ops user: never its proposer, whatever credential they use."""
    async with treasurer.sessions.begin() as session:
        return PolicyVersionOut.model_validate(await policy_changes.approve(session, proposal_id, principal.actor))


@router.post("/api/policies/proposals/{proposal_id}/reject", response_model=PolicyVersionOut, responses=_FOUR_EYES)
async def reject_proposal(
    proposal_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal, body: RejectIn | None = None
) -> PolicyVersionOut:
    """Close a proposal without publishing it; its proposer (withdrawing) or anyone else with ops may."""
    reason = body.reason if body else None
    async with treasurer.sessions.begin() as session:
        row = await policy_changes.reject(session, proposal_id, principal.actor, reason)
        return PolicyVersionOut.model_validate(row)


@router.get("/api/settings/limit", response_model=LimitOut, tags=["settings"])
async def get_limit(treasurer: TreasurerDep, _: ReaderPrincipal) -> LimitOut:
    async with treasurer.sessions() as session:
        return LimitOut(limit=await service.current_limit(session))


@router.post(
    "/api/settings/limit",
    response_model=LimitUpdated,
    tags=["settings"],
    responses={202: {"model": LimitChangePending, "description": "Raised: awaits a second ops user's approval"}},
)
async def set_limit(body: LimitIn, treasurer: TreasurerDep, principal: OpsPrincipal) -> LimitUpdated | JSONResponse:
    """Change the per-invoice limit. Lowering it applies at once (`200`, `updated`); raising it loosens a control,
    so it becomes a proposal (`202`, `pending_approval`, its `change_id`) that another ops user approves at
    `POST /api/policies/proposals/{change_id}/approve`."""
    async with treasurer.sessions.begin() as session:
        row = await service.set_limit(session, body.new_limit, principal.actor)
    if row.status == PolicyStatus.PROPOSED:
        pending = LimitChangePending(change_id=row.id, new_limit=body.new_limit, loosenings=row.loosenings or [])
        return JSONResponse(pending.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    return LimitUpdated(new_limit=body.new_limit, policy_version=row.version)
