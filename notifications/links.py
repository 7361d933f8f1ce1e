"""Signed approval links: a JWT that names one approval request, one approver, one decision and a deadline.

Opening a link only shows a page (mail scanners follow links); the page POSTs the token back, and the API
records its `jti` under a unique constraint, which is what makes a link single-use. Any API replica holding
the shared secret can verify a link, so nothing about issued links is kept in memory.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args
from urllib.parse import quote

import jwt
from pydantic import SecretStr

from finance.errors import TreasurerError
from finance.settings import purpose_key

Decision = Literal["approve", "reject"]
RefusalReason = Literal["malformed", "forged", "expired"]

AUDIENCE = "treasurer:approval-link"
ISSUER = "treasurer"
_ALGORITHM = "HS256"
# The signing key is derived from jwt_secret under this label, so an approval link can never pass as an API
# access token signed with the same secret, nor the other way round.
_PURPOSE = b"approval-links"
_REQUIRED = ("req", "sub", "dec", "jti", "exp", "iat", "aud", "iss")
# Signed with another key, with "none", or for another purpose: not one of our approval links.
_FOREIGN = (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.InvalidAudienceError, jwt.InvalidIssuerError)
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")
# A real link is ~400 characters; refusing far longer input early keeps a hostile URL from costing much work.
_MAX_TOKEN_LENGTH = 2048

_MESSAGES: dict[RefusalReason, str] = {
    "malformed": "This approval link is incomplete or damaged. Open it again from the e-mail, exactly as it was sent.",
    "forged": "This approval link was not issued by the treasurer, or it has been altered. Nothing was decided.",
    "expired": "This approval link has expired. Nothing was decided; ask the submitter for a new approval request.",
}


class LinkRefused(TreasurerError):
    status_code = 400
    code = "link_refused"

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(_MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class ApprovalLink:
    token_id: str
    request_id: uuid.UUID
    approver: str
    decision: Decision
    expires_at: datetime


def normalise_approver(address: str) -> str:
    # Case-folded on both sides so "Alice@Example.com" in a group list and "alice@example.com" on the link agree.
    return address.strip().casefold()


class ApprovalLinks:
    def __init__(self, secret: SecretStr | str, base_url: str) -> None:
        self._key = purpose_key(secret, _PURPOSE)
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"ApprovalLinks(base_url={self._base_url!r})"

    def issue(self, request_id: uuid.UUID, approver: str, decision: str, expires_at: datetime) -> str:
        if decision not in get_args(Decision):
            raise ValueError(f"decision must be one of {get_args(Decision)}, not {decision!r}")
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        subject = normalise_approver(approver)
        if not subject:
            raise ValueError("an approval link needs an approver")
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "req": str(request_id),
            "sub": subject,
            "dec": decision,
            "jti": uuid.uuid4().hex,
            "iat": int(datetime.now(UTC).timestamp()),
            # Rounded down: a link must never outlive the deadline it was issued for.
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def url(self, token: str) -> str:
        return f"{self._base_url}/approvals/link?token={quote(token, safe='')}"

    def verify(self, token: str, *, now: datetime | None = None) -> ApprovalLink:
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise LinkRefused("malformed")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                # Expiry is checked below against `now`, so that one clock (the caller's) decides. iat is only
                # informational: replicas' clocks drift, and refusing a link "from the future" helps nobody.
                options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False},
            )
        except _FOREIGN as exc:
            raise LinkRefused("forged") from exc
        except jwt.InvalidTokenError as exc:
            # DecodeError (not a JWT at all), missing claims, claims of the wrong type.
            raise LinkRefused("malformed") from exc
        link = _link_from_claims(claims)
        current = now if now is not None else datetime.now(UTC)
        if current.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if current >= link.expires_at:
            raise LinkRefused("expired")
        return link


def _link_from_claims(claims: dict[str, object]) -> ApprovalLink:
    # The signature proves we issued these claims, yet each is checked again: a bug in an older issuer must fail
    # closed here rather than approve something nobody meant to.
    req, sub, dec, jti, exp = (claims.get(name) for name in ("req", "sub", "dec", "jti", "exp"))
    if not (isinstance(req, str) and isinstance(sub, str) and isinstance(dec, str) and isinstance(jti, str)):
        raise LinkRefused("malformed")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise LinkRefused("malformed")
    if dec not in get_args(Decision) or not _TOKEN_ID.fullmatch(jti):
        raise LinkRefused("malformed")
    approver = normalise_approver(sub)
    if not approver:
        raise LinkRefused("malformed")
    try:
        request_id = uuid.UUID(req)
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise LinkRefused("malformed") from exc
    return ApprovalLink(token_id=jti, request_id=request_id, approver=approver, decision=dec, expires_at=expires_at)
