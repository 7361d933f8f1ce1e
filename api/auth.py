"""Who is calling, and may they. Every protected endpoint declares the roles it needs:
401 when no valid credential is presented, 403 when the caller lacks the role.

Two credentials are accepted: API keys for service accounts (`treasurer apikeys create`) and JWT access
tokens for people (see `api.tokens`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agents.runtime import Treasurer
from api.tokens import AccessTokens, looks_like_jwt
from finance.api_keys import Principal, principal_for_key
from finance.errors import TreasurerError


class NotAuthenticated(TreasurerError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(TreasurerError):
    status_code = 403
    code = "forbidden"


_bearer = HTTPBearer(auto_error=False, description="An access token (JWT) or an API key (`treasurer apikeys create`).")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    key = bearer.credentials if bearer else api_key
    if not key:
        raise NotAuthenticated("send an access token or API key as `Authorization: Bearer <credential>`")
    if looks_like_jwt(key):
        tokens: AccessTokens = request.app.state.access_tokens
        principal = tokens.principal(key)
        if principal is None:
            raise NotAuthenticated("the access token is expired, forged or malformed")
        return principal
    treasurer: Treasurer = request.app.state.treasurer
    async with treasurer.sessions() as session:
        principal = await principal_for_key(session, key)
    if principal is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles & set(roles):
            raise Forbidden(f"this needs one of the roles {', '.join(roles)}; {principal.name} has none of them")
        return principal

    return check


AuthenticatedPrincipal = Annotated[Principal, Depends(current_principal)]
OpsPrincipal = Annotated[Principal, Depends(require_roles("ops", "admin"))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles("ops", "admin", "auditor", "cfo"))]
