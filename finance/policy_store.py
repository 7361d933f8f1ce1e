"""Policy versions as stored data: drafts, proposals, the one active version, and the retired history.

This module stores and reads documents; it does not judge them, and it cannot publish: publishing (at once
when a change only tightens, after a second person when it loosens) is `finance.policy_changes`, the one
place that makes a version active.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.errors import NotFound, TreasurerError
from finance.models import PolicyStatus, PolicyVersion


class PolicyConflict(TreasurerError):
    status_code = 409
    code = "policy_conflict"


class PolicyStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> PolicyVersion | None:
        return await self.session.scalar(select(PolicyVersion).where(PolicyVersion.status == PolicyStatus.ACTIVE))

    async def by_version(self, version: int) -> PolicyVersion | None:
        return await self.session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))

    async def get(self, policy_id: uuid.UUID) -> PolicyVersion:
        row = await self.session.get(PolicyVersion, policy_id)
        if row is None:
            raise NotFound(f"no policy draft or version {policy_id}")
        return row

    async def history(self) -> list[PolicyVersion]:
        rows = await self.session.scalars(
            select(PolicyVersion).where(PolicyVersion.version.is_not(None)).order_by(PolicyVersion.version.desc())
        )
        return list(rows)

    async def drafts(self) -> list[PolicyVersion]:
        rows = await self.session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.status == PolicyStatus.DRAFT)
            .order_by(PolicyVersion.created_at.desc())
        )
        return list(rows)

    async def proposals(self, status: PolicyStatus = PolicyStatus.PROPOSED) -> list[PolicyVersion]:
        rows = await self.session.scalars(
            select(PolicyVersion).where(PolicyVersion.status == status).order_by(PolicyVersion.proposed_at.desc())
        )
        return list(rows)

    async def create_draft(
        self,
        document: dict[str, Any],
        created_by: str,
        comment: str | None = None,
        created_by_user_id: uuid.UUID | None = None,
    ) -> PolicyVersion:
        draft = PolicyVersion(
            document=document,
            created_by=created_by,
            created_by_user_id=created_by_user_id,
            comment=comment,
            status=PolicyStatus.DRAFT,
        )
        self.session.add(draft)
        await self.session.flush()
        return draft

    async def update_draft(self, policy_id: uuid.UUID, document: dict[str, Any], comment: str | None) -> PolicyVersion:
        draft = await self.get(policy_id)
        if draft.status != PolicyStatus.DRAFT:
            # A proposal is frozen too: the second person approves exactly what they read.
            raise PolicyConflict(f"policy {policy_id} is {draft.status}, not a draft; only drafts change")
        draft.document = document
        draft.comment = comment
        return draft
