"""Policies for ops: read, validate, draft, dry-run, publish, history; and the original design's
per-invoice-limit shortcut, which publishes a new version like any other change."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import OpsPrincipal, ReaderPrincipal
from api.deps import TreasurerDep
from api.policies import service
from api.policies.schemas import (
    DocumentIn,
    DraftIn,
    DryRunOut,
    LimitIn,
    LimitOut,
    LimitUpdated,
    PolicyVersionOut,
    ValidationOut,
)
from finance.errors import NotFound
from finance.policy_store import PolicyStore

router = APIRouter(tags=["policies"])


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
        row = await service.create_draft(session, body.document, principal.name, body.comment)
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


@router.post("/api/policies/drafts/{draft_id}/publish", response_model=PolicyVersionOut)
async def publish_draft(draft_id: uuid.UUID, treasurer: TreasurerDep, principal: OpsPrincipal) -> PolicyVersionOut:
    async with treasurer.sessions.begin() as session:
        return PolicyVersionOut.model_validate(await service.publish(session, draft_id, principal.name))


@router.get("/api/settings/limit", response_model=LimitOut, tags=["settings"])
async def get_limit(treasurer: TreasurerDep, _: ReaderPrincipal) -> LimitOut:
    async with treasurer.sessions() as session:
        return LimitOut(limit=await service.current_limit(session))


@router.post("/api/settings/limit", response_model=LimitUpdated, tags=["settings"])
async def set_limit(body: LimitIn, treasurer: TreasurerDep, principal: OpsPrincipal) -> LimitUpdated:
    async with treasurer.sessions.begin() as session:
        row = await service.set_limit(session, body.new_limit, principal.name)
        return LimitUpdated(new_limit=body.new_limit, policy_version=row.version)
