"""The policy in force, as the graph reads it: the active version's document, validated.

The first start of a treasurer with no policy publishes the starter policy (the configured
per-invoice limit) as version 1, so there is always exactly one version to evaluate against.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.models import PolicyVersion
from finance.policy_changes import install_starter
from finance.policy_store import PolicyConflict, PolicyStore
from finance.settings import Settings
from policies.defaults import starter_policy
from policies.schema import PolicyDocument

SYSTEM_ACTOR = "treasurer (starter policy)"


@dataclass(frozen=True)
class ActivePolicy:
    version: int
    document: PolicyDocument


async def ensure_active_policy(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> ActivePolicy:
    async with sessions() as session:
        current = await load_active_policy(session)
    if current is not None:
        return current
    document = starter_policy(settings.invoice_limit, settings.token_currency)
    try:
        async with sessions.begin() as session:
            await install_starter(
                session, document, by=SYSTEM_ACTOR, comment="starter policy from TREASURER_INVOICE_LIMIT"
            )
    except PolicyConflict:
        pass  # another replica published first; its version is as good as ours
    async with sessions() as session:
        return await load_active_policy(session)


# Published versions never change, so a document validated once per version can be reused by every
# evaluation (validating a policy costs far more than evaluating it).
_PARSED: dict[tuple[uuid.UUID, int], PolicyDocument] = {}


def _parsed(row: PolicyVersion) -> ActivePolicy:
    key = (row.id, row.version)
    document = _PARSED.get(key)
    if document is None:
        document = _PARSED[key] = PolicyDocument.model_validate(row.document)
    return ActivePolicy(version=row.version, document=document)


async def load_active_policy(session: AsyncSession) -> ActivePolicy | None:
    row = await PolicyStore(session).active()
    return _parsed(row) if row is not None else None


async def load_policy_version(session: AsyncSession, version: int) -> ActivePolicy | None:
    row = await PolicyStore(session).by_version(version)
    return _parsed(row) if row is not None else None
