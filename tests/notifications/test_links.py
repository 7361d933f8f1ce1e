"""Signed approval links: one request, one approver, one decision, a deadline, and nothing else accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from notifications.links import AUDIENCE, ISSUER, ApprovalLinks, LinkRefused

SECRET = "test-secret-for-links-0123456789abcdef"
DERIVED_KEY = hmac.new(SECRET.encode(), b"approval-links", hashlib.sha256).digest()


@pytest.fixture
def links() -> ApprovalLinks:
    return ApprovalLinks(SecretStr(SECRET), "https://treasurer.example.com/")


def _deadline(hours: float = 72) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def _claims(**overrides: object) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "req": str(uuid.uuid4()),
        "sub": "alice@example.com",
        "dec": "approve",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _refusal(links: ApprovalLinks, token: str, **kwargs: object) -> str:
    with pytest.raises(LinkRefused) as caught:
        links.verify(token, **kwargs)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert caught.value.code == "link_refused"
    assert caught.value.message
    return caught.value.reason


def test_round_trip(links: ApprovalLinks) -> None:
    request_id = uuid.uuid4()
    deadline = _deadline()
    token = links.issue(request_id, "  Alice@Example.COM ", "reject", deadline)

    link = links.verify(token)

    assert link.request_id == request_id
    assert link.approver == "alice@example.com"
    assert link.decision == "reject"
    assert link.expires_at == deadline.replace(microsecond=0)
    assert link.expires_at.tzinfo is not None
    assert len(link.token_id) == 32
    claims = jwt.decode(token, DERIVED_KEY, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert set(claims) == {"iss", "aud", "req", "sub", "dec", "jti", "iat", "exp"}


def test_each_link_has_its_own_token_id(links: ApprovalLinks) -> None:
    request_id, deadline = uuid.uuid4(), _deadline()
    first = links.verify(links.issue(request_id, "a@example.com", "approve", deadline))
    second = links.verify(links.issue(request_id, "a@example.com", "approve", deadline))
    assert first.token_id != second.token_id


def test_url(links: ApprovalLinks) -> None:
    token = links.issue(uuid.uuid4(), "a@example.com", "approve", _deadline())
    assert links.url(token) == f"https://treasurer.example.com/approvals/link?token={token}"


def test_another_replica_with_the_same_secret_verifies(links: ApprovalLinks) -> None:
    token = links.issue(uuid.uuid4(), "a@example.com", "approve", _deadline())
    assert ApprovalLinks(SECRET, "http://elsewhere").verify(token).approver == "a@example.com"


def test_another_secret_is_forged(links: ApprovalLinks) -> None:
    token = ApprovalLinks("some other secret", "http://x").issue(uuid.uuid4(), "a@example.com", "approve", _deadline())
    assert _refusal(links, token) == "forged"


def test_tampered_signature_is_forged(links: ApprovalLinks) -> None:
    token = links.issue(uuid.uuid4(), "a@example.com", "approve", _deadline())
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _refusal(links, f"{header}.{payload}.{flipped}") == "forged"


def test_tampered_claims_are_forged(links: ApprovalLinks) -> None:
    token = links.issue(uuid.uuid4(), "a@example.com", "reject", _deadline())
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["dec"] = "approve"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _refusal(links, f"{header}.{forged}.{signature}") == "forged"


def test_expired_by_the_given_clock(links: ApprovalLinks) -> None:
    deadline = _deadline(hours=1)
    token = links.issue(uuid.uuid4(), "a@example.com", "approve", deadline)

    assert links.verify(token, now=deadline - timedelta(seconds=1)).decision == "approve"
    assert _refusal(links, token, now=deadline) == "expired"
    assert _refusal(links, token, now=deadline + timedelta(days=1)) == "expired"


def test_expired_by_the_real_clock(links: ApprovalLinks) -> None:
    token = links.issue(uuid.uuid4(), "a@example.com", "approve", datetime.now(UTC) - timedelta(seconds=5))
    assert _refusal(links, token) == "expired"


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "....", "x" * 5000, "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_garbage_is_malformed(links: ApprovalLinks, garbage: str) -> None:
    assert _refusal(links, garbage) == "malformed"


def test_alg_none_is_refused(links: ApprovalLinks) -> None:
    token = jwt.encode(_claims(), None, algorithm="none")
    assert _refusal(links, token) == "forged"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_another_algorithm_with_the_same_key_is_refused(links: ApprovalLinks) -> None:
    token = jwt.encode(_claims(), DERIVED_KEY, algorithm="HS512")
    assert _refusal(links, token) == "forged"


def test_another_audience_is_refused(links: ApprovalLinks) -> None:
    token = jwt.encode(_claims(aud="treasurer:api"), DERIVED_KEY, algorithm="HS256")
    assert _refusal(links, token) == "forged"


def test_another_issuer_is_refused(links: ApprovalLinks) -> None:
    token = jwt.encode(_claims(iss="someone-else"), DERIVED_KEY, algorithm="HS256")
    assert _refusal(links, token) == "forged"


def test_a_token_signed_with_the_raw_jwt_secret_is_refused(links: ApprovalLinks) -> None:
    # An API access token signed with jwt_secret itself, even carrying the right claims, is not an approval link.
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    assert _refusal(links, token) == "forged"


@pytest.mark.parametrize("missing", ["req", "sub", "dec", "jti", "exp", "iat"])
def test_missing_claims_are_malformed(links: ApprovalLinks, missing: str) -> None:
    token = jwt.encode(_claims(**{missing: None}), DERIVED_KEY, algorithm="HS256")
    assert _refusal(links, token) == "malformed"


@pytest.mark.parametrize(
    "overrides",
    [
        {"dec": "approve_all"},
        {"dec": "APPROVE"},
        {"req": "not-a-uuid"},
        {"req": 42},
        {"sub": "   "},
        {"jti": "short"},
        {"exp": "tomorrow"},
        {"exp": 10**20},
    ],
)
def test_bad_claim_values_are_malformed(links: ApprovalLinks, overrides: dict[str, object]) -> None:
    token = jwt.encode(_claims(**overrides), DERIVED_KEY, algorithm="HS256")
    assert _refusal(links, token) == "malformed"


def test_issue_refuses_nonsense(links: ApprovalLinks) -> None:
    with pytest.raises(ValueError):
        links.issue(uuid.uuid4(), "a@example.com", "maybe", _deadline())
    with pytest.raises(ValueError):
        links.issue(uuid.uuid4(), "a@example.com", "approve", datetime.now() + timedelta(hours=1))
    with pytest.raises(ValueError):
        links.issue(uuid.uuid4(), " ", "approve", _deadline())
    with pytest.raises(ValueError):
        ApprovalLinks(SecretStr(""), "http://x")


def test_the_secret_stays_out_of_repr(links: ApprovalLinks) -> None:
    assert SECRET not in repr(links)
