"""Sign-in (`POST /token`, the original design's OAuth2 password form), refresh, and user administration."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import AuthenticatedPrincipal, refresh_standing, require_roles
from api.deps import SettingsDep, TreasurerDep
from api.tokens import AccessTokens
from api.users.schemas import RefreshIn, TokenOut, UserIn, UserOut
from api.users.service import (
    RefreshReused,
    authenticate,
    create_user,
    issue_refresh,
    revoke_family,
    rotate_refresh,
)
from api.users.throttle import throttled
from finance.api_keys import Principal
from finance.decisions import DecisionLog
from finance.errors import NotFound
from finance.models import User
from finance.settings import Settings
from finance.users import UserRepository

router = APIRouter(tags=["users"])
AdminPrincipal = Annotated[Principal, Depends(require_roles("admin"))]
_REFUSED = {401: {"description": "Wrong e-mail or password, or a refresh token that is unknown, used or expired"}}
_SIGN_IN_REFUSED = {
    **_REFUSED,
    429: {"description": "Too many failed sign-ins for this account or from this address; see Retry-After"},
    503: {"description": "Failed sign-ins cannot be counted (Redis unreachable), so none is checked"},
}


def _pair(request: Request, settings: Settings, user: User, refresh: str) -> TokenOut:
    tokens: AccessTokens = request.app.state.access_tokens
    ttl = timedelta(minutes=settings.access_token_minutes)
    return TokenOut(
        access_token=tokens.issue(user.id, user.email, set(user.roles), version=user.token_version, ttl=ttl),
        expires_in=int(ttl.total_seconds()),
        refresh_token=refresh,
    )


@router.post("/token", response_model=TokenOut, responses=_SIGN_IN_REFUSED)
async def sign_in(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    treasurer: TreasurerDep,
    settings: SettingsDep,
) -> TokenOut:
    """Sign in with e-mail (`username`) and password: a short-lived access token and a refresh token. Failed
    sign-ins are limited per account and per address (`429` with `Retry-After` past the budget)."""
    async with throttled(request, form.username), treasurer.sessions.begin() as session:
        user = await authenticate(session, form.username, form.password)
        refresh = await issue_refresh(session, user, timedelta(days=settings.refresh_token_days))
    return _pair(request, settings, user, refresh.token)


@router.post("/token/refresh", response_model=TokenOut, responses=_REFUSED)
async def refresh(request: Request, body: RefreshIn, treasurer: TreasurerDep, settings: SettingsDep) -> TokenOut:
    """A new token pair for a refresh token. Each works once; reusing one signs out every session of the account."""
    try:
        async with treasurer.sessions.begin() as session:
            user, issued = await rotate_refresh(
                session, body.refresh_token, timedelta(days=settings.refresh_token_days)
            )
    except RefreshReused as reused:
        # A copied refresh token means a copied session: every access token of the account ends now, not when
        # it expires, since the thief may hold one issued before the reuse was seen.
        async with treasurer.sessions.begin() as session:
            await revoke_family(session, reused.family)
            await UserRepository(session).end_sessions(reused.user_id)
        await refresh_standing(request, reused.user_id)
        raise
    return _pair(request, settings, user, issued.token)


@router.post("/users/", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def add_user(body: UserIn, admin: AdminPrincipal, treasurer: TreasurerDep) -> UserOut:
    """Create a user (admins only). Passwords need 12 characters at least; only an argon2 hash is kept."""
    async with treasurer.sessions.begin() as session:
        user = await create_user(session, body.email, body.password, body.roles, created_by=admin.name)
        # In the log: a second account made by an admin is how one person could pose as two, so auditors see it.
        await DecisionLog(session).append(
            invoice_id=None,
            step="user",
            outcome="created",
            reason=f"{admin.name} created {user.email} with roles {', '.join(user.roles)}",
            details={"user_id": user.id, "roles": user.roles},
            actor=admin.name,
        )
        return UserOut.model_validate(user, from_attributes=True)


@router.get("/users/", response_model=list[UserOut])
async def list_users(_: AdminPrincipal, treasurer: TreasurerDep) -> list[UserOut]:
    async with treasurer.sessions() as session:
        return [UserOut.model_validate(u, from_attributes=True) for u in await UserRepository(session).listed()]


@router.post("/users/me/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_everywhere(request: Request, principal: AuthenticatedPrincipal, treasurer: TreasurerDep) -> None:
    """End every session of the caller: their access tokens stop working at once, refresh tokens are revoked."""
    async with treasurer.sessions.begin() as session:
        await UserRepository(session).end_sessions(principal.user_id)
    await refresh_standing(request, principal.user_id)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(
    request: Request, user_id: uuid.UUID, admin: AdminPrincipal, treasurer: TreasurerDep
) -> UserOut:
    """Deactivate a user (admins only): their tokens, sessions and API keys stop working at once."""
    async with treasurer.sessions.begin() as session:
        user = await UserRepository(session).deactivate(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        await DecisionLog(session).append(
            invoice_id=None,
            step="user",
            outcome="deactivated",
            reason=f"{admin.name} deactivated {user.email}",
            details={"user_id": user.id},
            actor=admin.name,
        )
        out = UserOut.model_validate(user, from_attributes=True)
    await refresh_standing(request, user_id)
    return out


@router.get("/users/me", response_model=UserOut)
async def me(principal: AuthenticatedPrincipal, treasurer: TreasurerDep) -> UserOut:
    async with treasurer.sessions() as session:
        user = await UserRepository(session).get(principal.user_id)
        if user is None:
            raise NotFound(f"no user {principal.user_id}")
        return UserOut.model_validate(user, from_attributes=True)
