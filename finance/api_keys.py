"""API keys for service accounts and scripts. Each key acts for one user (`api_keys.user_id`): the person who
holds it is the same person as when they sign in, so no check of "someone else" can be passed with a key.

A key is shown once, when it is created; only its SHA-256 is stored. Keys are 256 bits of randomness,
so a fast hash is as strong as a slow one and every request can afford the check.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.identity import Principal
from finance.models import ApiKey, User
from finance.users import UserRepository

ROLES = frozenset({"cfo", "approver", "ops", "auditor", "admin"})
_PREFIX = "trk_"

__all__ = ["ROLES", "Principal", "create_api_key", "principal_for_key"]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, owner_email: str, roles: list[str]) -> str:
    """A key for the user `owner_email`, carrying some of that user's roles (never more than they have)."""
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise ValueError(f"roles must be some of {sorted(ROLES)}; got {sorted(roles)}")
    user = await UserRepository(session).by_email(owner_email)
    if user is None or not user.active:
        raise ValueError(f"no active user {owner_email!r}: create the user first (`treasurer users create`)")
    beyond = set(roles) - set(user.roles)
    if beyond:
        raise ValueError(f"{user.email} does not hold the role(s) {', '.join(sorted(beyond))}")
    key = _PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(user_id=user.id, owner=user.email, roles=sorted(set(roles)), key_sha256=_digest(key)))
    await session.flush()
    return key


async def principal_for_key(session: AsyncSession, key: str) -> Principal | None:
    if not key.startswith(_PREFIX):
        return None
    row = (
        await session.execute(
            select(ApiKey.roles, User.id, User.email, User.roles.label("user_roles"))
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_sha256 == _digest(key), ApiKey.revoked_at.is_(None), User.active.is_(True))
        )
    ).first()
    if row is None:
        return None
    # A role taken from the user since the key was made is gone from the key too.
    roles = frozenset(row.roles) & frozenset(row.user_roles)
    return Principal(user_id=row.id, name=row.email, roles=roles, credential="api_key")
