"""JWT access tokens for people (approvers, the CFO, ops): HS256 under a key derived from
TREASURER_JWT_SECRET for this purpose alone, so an approval link can never pass as an access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr

from finance.api_keys import ROLES
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

    def issue(
        self,
        user_id: uuid.UUID,
        email: str,
        roles: set[str] | frozenset[str],
        *,
        version: int = 0,
        ttl: timedelta = timedelta(minutes=30),
    ) -> str:
        """A token for one user. `version` is the user's token version when issued: bumping it (deactivation, a
        stolen refresh token) ends every token issued before, at once (`api.auth`)."""
        unknown = set(roles) - ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "email": email.strip().casefold(),
            "ver": version,
            "roles": sorted(roles),
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def claims(self, token: str) -> TokenClaims | None:
        """What a valid token says; None for anything expired, forged or malformed. Whether its user is still
        active, and the token still current, is for `api.auth` to check."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
            user_id = uuid.UUID(str(claims["sub"]))
        except (jwt.InvalidTokenError, ValueError):
            return None
        roles, email, version = claims.get("roles"), claims.get("email"), claims.get("ver")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return None
        if not isinstance(email, str) or not isinstance(version, int) or isinstance(version, bool):
            return None
        return TokenClaims(user_id=user_id, email=email, roles=frozenset(roles) & ROLES, version=version)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    email: str
    roles: frozenset[str]
    version: int


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2
