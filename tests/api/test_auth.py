"""Sign-in, tokens and roles: `POST /token`, the refresh flow, `POST /users/`, and each role against each
endpoint (401 without a credential, 403 without the role)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from api.tokens import AccessTokens
from finance.api_keys import ROLES
from finance.db import create_engine, session_factory
from finance.settings import Settings

pytestmark = pytest.mark.asyncio

# (method, path, roles that may call it). Bodies are empty on purpose: an allowed caller gets past the role
# check and is stopped by validation (422) or answered; a refused one never reaches validation.
ROLE_TABLE = [
    ("GET", "/api/invoices", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("POST", "/api/invoices", {"cfo", "admin"}),
    ("POST", "/api/process-invoice", {"cfo", "admin"}),
    ("POST", "/api/process-invoice/document", {"cfo", "admin"}),
    ("GET", "/api/policies/active", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/policies/validate", {"ops", "admin"}),
    ("GET", "/api/vendors", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/vendors", {"ops", "admin"}),
    ("GET", "/api/treasury/runway", {"cfo", "ops", "auditor", "admin"}),
    ("GET", "/api/settings/limit", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/settings/limit", {"ops", "admin"}),
    ("GET", "/api/approvals", {"approver", "admin"}),
    ("GET", "/api/dashboard", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("GET", "/api/dashboard/logs", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("GET", "/api/transactions", {"cfo", "ops", "auditor", "admin"}),
    ("GET", "/api/decisions", {"ops", "auditor", "admin"}),
    ("GET", "/api/decisions/export.csv", {"ops", "auditor", "admin"}),
    ("GET", "/api/decisions/verify", {"ops", "auditor", "admin"}),
    ("POST", "/users/", {"admin"}),
    ("GET", "/users/", {"admin"}),
]


def _token(settings: Settings, who: str, *roles: str) -> str:
    return AccessTokens(settings.jwt_secret).issue(who, set(roles))


async def _user(settings: Settings, email: str, password: str, *roles: str) -> None:
    from api.users.service import create_user

    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await create_user(session, email, password, list(roles), created_by="test")
    await engine.dispose()


async def test_each_role_against_each_endpoint(client, bootstrapped: Settings) -> None:  # noqa: ANN001
    # One app for the whole table: a fresh chain and database per row would cost a bootstrap each.
    wrong: list[str] = []
    for method, path, allowed in ROLE_TABLE:
        anonymous = await client.request(method, path)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {path} without a credential: {anonymous.status_code}")
        for role in sorted(ROLES):
            headers = {"Authorization": f"Bearer {_token(bootstrapped, f'{role}.person@example.com', role)}"}
            response = await client.request(method, path, headers=headers)
            refused = response.status_code == 403 and response.json().get("code") == "forbidden"
            if role in allowed and response.status_code in (401, 403):
                wrong.append(f"{method} {path} as {role}: refused ({response.status_code})")
            elif role not in allowed and not refused:
                wrong.append(f"{method} {path} as {role}: {response.status_code}, expected 403")
    assert not wrong, "\n".join(wrong)


async def test_expired_tampered_and_foreign_tokens_are_401(client, bootstrapped: Settings) -> None:  # noqa: ANN001
    tokens = AccessTokens(bootstrapped.jwt_secret)
    good = tokens.issue("ops@example.com", {"ops"})
    assert (await client.get("/api/vendors", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    head, body, signature = good.split(".")
    expired = tokens.issue("ops@example.com", {"ops"}, ttl=timedelta(seconds=-1))
    forged = jwt.encode(
        {"sub": "ops@example.com", "roles": ["admin"], "exp": 9_999_999_999}, "guess", algorithm="HS256"
    )
    unsigned = jwt.encode({"sub": "x", "roles": ["admin"], "exp": 9_999_999_999}, None, algorithm="none")
    for bad in (expired, f"{head}.{body}.{signature[::-1]}", forged, unsigned, f"{head}.{body}."):
        response = await client.get("/api/vendors", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.json()["code"] == "not_authenticated"


async def test_sign_in_refresh_and_rotation(client, bootstrapped: Settings) -> None:  # noqa: ANN001
    await _user(bootstrapped, "Controller@Example.com", "correct horse battery", "approver")
    wrong = await client.post("/token", data={"username": "controller@example.com", "password": "nope nope nope"})
    unknown = await client.post("/token", data={"username": "nobody@example.com", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"], "the answer does not tell which addresses exist"

    signed_in = await client.post(
        "/token", data={"username": "controller@example.com", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 200, signed_in.text
    pair = signed_in.json()
    assert pair["token_type"] == "bearer" and pair["access_token"] and pair["refresh_token"]
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["email"] == "controller@example.com" and me.json()["roles"] == ["approver"]

    renewed = await client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != pair["refresh_token"]
    # The old refresh token was used: presenting it again signs out every session it started.
    replay = await client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    after = await client.post("/token/refresh", json={"refresh_token": renewed.json()["refresh_token"]})
    assert after.status_code == 401


async def test_admins_create_users_and_nobody_exists_by_default(client, bootstrapped: Settings) -> None:  # noqa: ANN001
    nobody = await client.post("/token", data={"username": "admin", "password": "admin"})
    assert nobody.status_code == 401
    admin = {"Authorization": f"Bearer {_token(bootstrapped, 'root@example.com', 'admin')}"}
    created = await client.post(
        "/users/", json={"email": "ap@example.com", "password": "twelve chars ok", "roles": ["cfo"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ap@example.com"
    again = await client.post(
        "/users/", json={"email": "AP@example.com", "password": "twelve chars ok", "roles": ["cfo"]}, headers=admin
    )
    assert again.status_code == 409
    weak = await client.post(
        "/users/", json={"email": "b@example.com", "password": "short", "roles": ["superuser"]}, headers=admin
    )
    assert weak.status_code == 422
    assert "password" in weak.json()["detail"] and "roles" in weak.json()["detail"]
    signed_in = await client.post("/token", data={"username": "ap@example.com", "password": "twelve chars ok"})
    assert signed_in.status_code == 200
