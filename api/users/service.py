"""People and their sign-in: argon2 password hashes, and refresh tokens rotated on every use."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from finance.api_keys import ROLES
from finance.errors import TreasurerError
from finance.models import RefreshToken, User, as_utc, utcnow
from finance.users import UserRepository, normalise_email

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong address costs as long as a wrong password: the answer's
# timing does not tell an attacker which addresses exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class InvalidUser(TreasurerError):
    status_code = 422
    code = "invalid_user"


class UserExists(TreasurerError):
    status_code = 409
    code = "user_exists"


class SignInRefused(TreasurerError):
    status_code = 401
    code = "not_authenticated"


class RefreshReused(SignInRefused):
    """A token used twice was copied: whoever holds the newer one may be the thief, so the caller ends them
    all (`revoke_family`, committed on its own, since this error rolls back the transaction it came from)."""

    def __init__(self, family: uuid.UUID, user_id: uuid.UUID) -> None:
        super().__init__("this refresh token was already used; every session of this account is now signed out")
        self.family = family
        self.user_id = user_id


async def revoke_family(session: AsyncSession, family: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def check_new_user(email: str, password: str, roles: list[str]) -> str:
    address = normalise_email(email)
    problems = []
    if not _EMAIL.match(address):
        problems.append(f"email {email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    unknown = sorted(set(roles) - ROLES)
    if unknown or not roles:
        problems.append(
            f"roles: choose from {', '.join(sorted(ROLES))}" + (f" (unknown: {unknown})" if unknown else "")
        )
    if problems:
        raise InvalidUser("; ".join(problems))
    return address


async def create_user(
    session: AsyncSession, email: str, password: str, roles: list[str], *, created_by: str | None
) -> User:
    address = check_new_user(email, password, roles)
    # argon2 is deliberately slow (tens of ms of CPU): off the event loop, so other requests keep flowing.
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user = User(email=address, password_hash=password_hash, roles=sorted(set(roles)), created_by=created_by)
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        raise UserExists(f"a user {address} already exists") from exc
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await UserRepository(session).by_email(email)
    if not await asyncio.to_thread(_verify, user.password_hash if user else _DUMMY_HASH, password) or user is None:
        raise SignInRefused("wrong e-mail or password")
    if not user.active:
        raise SignInRefused("this account is deactivated")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    user.last_login_at = utcnow()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    expires_at: datetime


async def issue_refresh(
    session: AsyncSession, user: User, ttl: timedelta, *, family: uuid.UUID | None = None
) -> IssuedRefresh:
    token = "trr_" + secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    session.add(
        RefreshToken(user_id=user.id, family=family or uuid.uuid4(), token_sha256=_digest(token), expires_at=expires_at)
    )
    await session.flush()
    return IssuedRefresh(token, expires_at)


async def rotate_refresh(session: AsyncSession, token: str, ttl: timedelta) -> tuple[User, IssuedRefresh]:
    """Trade a refresh token for a new one. The row is locked, so two racing refreshes cannot both succeed."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_sha256 == _digest(token)).with_for_update()
    )
    now = utcnow()
    if row is None:
        raise SignInRefused("unknown refresh token; sign in again")
    if row.used_at is not None or row.revoked_at is not None:
        raise RefreshReused(row.family, row.user_id)
    if as_utc(row.expires_at) <= now:
        raise SignInRefused("the refresh token has expired; sign in again")
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise SignInRefused("this account is deactivated")
    row.used_at = now
    return user, await issue_refresh(session, user, ttl, family=row.family)
