"""JWT access tokens for people (approvers, the CFO, ops): HS256 under a key derived from
TREASURER_JWT_SECRET for this purpose alone, so an approval link can never pass as an access token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr

from finance.api_keys import ROLES, Principal
from finance.settings import purpose_key

AUDIENCE = "treasurer:api"
ISSUER = "treasurer"
_ALGORITHM = "HS256"
_PURPOSE = b"access-tokens"


class AccessTokens:
    def __init__(self, secret: SecretStr) -> None:
        self._key = purpose_key(secret, _PURPOSE)

    def __repr__(self) -> str:
        return "AccessTokens()"

    def issue(self, subject: str, roles: set[str] | frozenset[str], *, ttl: timedelta = timedelta(minutes=30)) -> str:
        unknown = set(roles) - ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject.strip().casefold(),
            "roles": sorted(roles),
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def principal(self, token: str) -> Principal | None:
        """The caller a valid token names; None for anything expired, forged or malformed."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
        except jwt.InvalidTokenError:
            return None
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return None
        return Principal(name=str(claims["sub"]), roles=frozenset(roles) & ROLES)


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2
