"""Policy versions as stored data: drafts, the one active version, and the retired history.

This module stores documents; it does not judge them. Validation belongs to the policy schema
(`policies/`), and the service that calls this validates before it stores or publishes.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.errors import NotFound, TreasurerError
from finance.models import PolicyStatus, PolicyVersion, utcnow

# Fixed advisory-lock key reserved for publishing policies.
_PUBLISH_LOCK_KEY = 0x706F_6C69_6379


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

    async def create_draft(
        self, document: dict[str, Any], created_by: str, comment: str | None = None
    ) -> PolicyVersion:
        draft = PolicyVersion(document=document, created_by=created_by, comment=comment, status=PolicyStatus.DRAFT)
        self.session.add(draft)
        await self.session.flush()
        return draft

    async def update_draft(self, policy_id: uuid.UUID, document: dict[str, Any], comment: str | None) -> PolicyVersion:
        draft = await self.get(policy_id)
        if draft.status != PolicyStatus.DRAFT:
            raise PolicyConflict(f"version {draft.version} is published; published versions never change")
        draft.document = document
        draft.comment = comment
        return draft

    async def publish(self, policy_id: uuid.UUID, published_by: str) -> PolicyVersion:
        """Make a draft the active version, atomically. The caller commits.

        Publishes are serialised by an advisory lock, and the partial unique index on the active status
        guarantees at the database level that two racing publishes never leave two active versions.
        """
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK_KEY})
        draft = await self.session.scalar(
            select(PolicyVersion)
            .where(PolicyVersion.id == policy_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if draft is None:
            raise NotFound(f"no policy draft {policy_id}")
        if draft.status != PolicyStatus.DRAFT:
            raise PolicyConflict(f"policy {policy_id} is already published as version {draft.version}")
        latest = await self.session.scalar(select(func.max(PolicyVersion.version))) or 0
        await self.session.execute(
            update(PolicyVersion).where(PolicyVersion.status == PolicyStatus.ACTIVE).values(status=PolicyStatus.RETIRED)
        )
        draft.status = PolicyStatus.ACTIVE
        draft.version = latest + 1
        draft.published_by = published_by
        draft.published_at = utcnow()
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise PolicyConflict("another version was published at the same moment; try again") from exc
        return draft
