"""Who is calling, and may they. Every protected endpoint declares the roles it needs:
401 when no valid credential is presented, 403 when the caller lacks the role.

Every credential resolves to one user: JWT access tokens (`api.tokens`), the web app's session cookie (the same
token) and API keys (`treasurer apikeys create`, each bound to a user). A token stops working at once when its
user is deactivated or their sessions are ended: it carries the user's token version, checked on every request
against PostgreSQL through a short-lived Redis cache that every change overwrites.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agents.runtime import Treasurer
from api.tokens import AccessTokens, looks_like_jwt
from finance.api_keys import principal_for_key
from finance.errors import TreasurerError
from finance.identity import Credential, Principal
from finance.users import Standing, UserRepository

log = logging.getLogger(__name__)
# Bounds how long a standing survives in Redis if an invalidation were ever lost; changes overwrite it at once.
_STANDING_TTL_SECONDS = 60


class NotAuthenticated(TreasurerError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(TreasurerError):
    status_code = 403
    code = "forbidden"


_bearer = HTTPBearer(auto_error=False, description="An access token (JWT) or an API key (`treasurer apikeys create`).")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def _standing_key(user_id: uuid.UUID) -> str:
    return f"treasurer:auth:standing:{user_id}"


async def user_standing(request: Request, user_id: uuid.UUID) -> Standing | None:
    redis: Redis = request.app.state.redis
    try:
        cached = await redis.get(_standing_key(user_id))
    except RedisError:
        cached = None  # PostgreSQL decides; Redis only spares it the query
    if cached is not None:
        active, version = cached.decode().split(":")
        return Standing(active=active == "1", token_version=int(version))
    standing = await _stored_standing(request, user_id)
    if standing is not None:
        # Fill only an empty slot: a reader that saw the row just before a deactivation committed must not
        # overwrite the standing that deactivation wrote after its commit.
        await _cache(redis, user_id, standing, only_if_absent=True)
    return standing


async def refresh_standing(request: Request, user_id: uuid.UUID) -> None:
    """After a commit that changed a user's standing (deactivation, sign-out, a stolen refresh token): write the
    new standing over the cached one, so every replica refuses the old tokens from the next request on."""
    redis: Redis = request.app.state.redis
    standing = await _stored_standing(request, user_id)
    if standing is None:
        standing = Standing(active=False, token_version=-1)
    await _cache(redis, user_id, standing, only_if_absent=False)


async def _stored_standing(request: Request, user_id: uuid.UUID) -> Standing | None:
    treasurer: Treasurer = request.app.state.treasurer
    async with treasurer.sessions() as session:
        return await UserRepository(session).standing(user_id)


async def _cache(redis: Redis, user_id: uuid.UUID, standing: Standing, *, only_if_absent: bool) -> None:
    value = f"{int(standing.active)}:{standing.token_version}"
    try:
        await redis.set(_standing_key(user_id), value, ex=_STANDING_TTL_SECONDS, nx=only_if_absent)
    except RedisError:
        log.warning("could not cache the standing of user %s; PostgreSQL is read instead", user_id)


async def principal_for_token(request: Request, token: str, credential: Credential) -> Principal | None:
    tokens: AccessTokens = request.app.state.access_tokens
    claims = tokens.claims(token)
    if claims is None:
        return None
    standing = await user_standing(request, claims.user_id)
    if standing is None or not standing.active or standing.token_version != claims.version:
        return None
    return Principal(user_id=claims.user_id, name=claims.email, roles=claims.roles, credential=credential)


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    key = bearer.credentials if bearer else api_key
    if not key:
        raise NotAuthenticated("send an access token or API key as `Authorization: Bearer <credential>`")
    if looks_like_jwt(key):
        principal = await principal_for_token(request, key, "access_token")
        if principal is None:
            raise NotAuthenticated("the access token is expired, revoked, forged or malformed; sign in again")
        return principal
    treasurer: Treasurer = request.app.state.treasurer
    async with treasurer.sessions() as session:
        principal = await principal_for_key(session, key)
    if principal is None:
        raise NotAuthenticated("the API key is unknown or revoked, or its user is deactivated")
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles & set(roles):
            raise Forbidden(f"this needs one of the roles {', '.join(roles)}; {principal.name} has none of them")
        return principal

    return check


AuthenticatedPrincipal = Annotated[Principal, Depends(current_principal)]
# Admins manage users, roles and keys; they are not every role. The steps that move money or change controls
# need their own role, so granting admin does not also grant the power to pay.
OpsPrincipal = Annotated[Principal, Depends(require_roles("ops"))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles("ops", "admin", "auditor", "cfo"))]
