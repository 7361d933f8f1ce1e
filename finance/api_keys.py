"""API keys for service accounts and operators until interactive login exists.

A key is shown once, when it is created; only its SHA-256 is stored. Keys are 256 bits of randomness,
so a fast hash is as strong as a slow one and every request can afford the check.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import ApiKey

ROLES = frozenset({"cfo", "approver", "ops", "auditor", "admin"})
_PREFIX = "trk_"


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, owner: str, roles: list[str]) -> str:
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise ValueError(f"roles must be some of {sorted(ROLES)}; got {sorted(roles)}")
    key = _PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(owner=owner, roles=sorted(set(roles)), key_sha256=_digest(key)))
    await session.flush()
    return key


async def principal_for_key(session: AsyncSession, key: str) -> Principal | None:
    if not key.startswith(_PREFIX):
        return None
    row = await session.scalar(select(ApiKey).where(ApiKey.key_sha256 == _digest(key), ApiKey.revoked_at.is_(None)))
    return Principal(name=row.owner, roles=frozenset(row.roles)) if row else None
