"""The people who act: lookups by e-mail and id, and what decides whether their credentials still work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import RefreshToken, User, utcnow


def normalise_email(email: str) -> str:
    return email.strip().casefold()


@dataclass(frozen=True)
class Standing:
    """Whether a user's credentials work: active, and the token version current tokens must carry."""

    active: bool
    token_version: int


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == normalise_email(email)))

    async def listed(self) -> list[User]:
        return list(await self.session.scalars(select(User).order_by(User.email)))

    async def standing(self, user_id: uuid.UUID) -> Standing | None:
        row = (await self.session.execute(select(User.active, User.token_version).where(User.id == user_id))).first()
        return Standing(active=row.active, token_version=row.token_version) if row else None

    async def end_sessions(self, user_id: uuid.UUID) -> None:
        """Every access token issued so far stops working, and every refresh token is revoked."""
        await self.session.execute(update(User).where(User.id == user_id).values(token_version=User.token_version + 1))
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    async def deactivate(self, user_id: uuid.UUID) -> User | None:
        user = await self.get(user_id)
        if user is None:
            return None
        user.active = False
        await self.session.flush()
        await self.end_sessions(user_id)
        return user
