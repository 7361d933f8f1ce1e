"""Sign-in, tokens and roles: `POST /token`, the refresh flow, `POST /users/`, and each role against each
endpoint (401 without a credential, 403 without the role)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest

from finance.api_keys import ROLES
from finance.db import create_engine, session_factory
from finance.settings import Settings
from tests.fixtures.credentials import access_token, api_key_headers

pytestmark = pytest.mark.asyncio

# (method, path, roles that may call it). Bodies are empty on purpose: an allowed caller gets past the role
# check and is stopped by validation (422) or answered; a refused one never reaches validation.
ROLE_TABLE = [
    ("GET", "/api/invoices", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("POST", "/api/invoices", {"cfo"}),
    ("POST", "/api/process-invoice", {"cfo"}),
    ("POST", "/api/process-invoice/document", {"cfo"}),
    ("GET", "/api/policies/active", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/policies/validate", {"ops"}),
    ("GET", "/api/policies/proposals", {"ops"}),
    ("POST", f"/api/policies/proposals/{uuid.UUID(int=1)}/approve", {"ops"}),
    ("POST", f"/api/policies/proposals/{uuid.UUID(int=1)}/reject", {"ops"}),
    ("GET", "/api/vendors", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/vendors", {"ops"}),
    ("GET", "/api/vendors/changes", {"ops"}),
    ("GET", "/api/treasury/runway", {"cfo", "ops", "auditor", "admin"}),
    ("GET", "/api/settings/limit", {"cfo", "ops", "auditor", "admin"}),
    ("POST", "/api/settings/limit", {"ops"}),
    ("GET", "/api/approvals", {"approver"}),
    ("GET", "/api/dashboard", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("GET", "/api/dashboard/logs", {"cfo", "approver", "ops", "auditor", "admin"}),
    ("GET", "/api/transactions", {"cfo", "ops", "auditor", "admin"}),
    ("GET", "/api/decisions", {"ops", "auditor", "admin"}),
    ("GET", "/api/decisions/export.csv", {"ops", "auditor", "admin"}),
    ("GET", "/api/decisions/verify", {"ops", "auditor", "admin"}),
    ("POST", "/users/", {"admin"}),
    ("GET", "/users/", {"admin"}),
]


async def _token(settings: Settings, who: str, *roles: str) -> str:
    return await access_token(settings, who, *roles)


async def _user(settings: Settings, email: str, password: str, *roles: str) -> None:
    from api.users.service import create_user

    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await create_user(session, email, password, list(roles), created_by="test")
    await engine.dispose()


async def test_each_role_against_each_endpoint(client, bootstrapped: Settings) -> None:
    # One app for the whole table: a fresh chain and database per row would cost a bootstrap each.
    wrong: list[str] = []
    for method, path, allowed in ROLE_TABLE:
        anonymous = await client.request(method, path)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {path} without a credential: {anonymous.status_code}")
        for role in sorted(ROLES):
            headers = {"Authorization": f"Bearer {await _token(bootstrapped, f'{role}.person@example.com', role)}"}
            response = await client.request(method, path, headers=headers)
            refused = response.status_code == 403 and response.json().get("code") == "forbidden"
            if role in allowed and response.status_code in (401, 403):
                wrong.append(f"{method} {path} as {role}: refused ({response.status_code})")
            elif role not in allowed and not refused:
                wrong.append(f"{method} {path} as {role}: {response.status_code}, expected 403")
    assert not wrong, "\n".join(wrong)


async def test_expired_tampered_and_foreign_tokens_are_401(client, bootstrapped: Settings) -> None:
    good = await access_token(bootstrapped, "ops@example.com", "ops")
    assert (await client.get("/api/vendors", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    head, body, signature = good.split(".")
    expired = await access_token(bootstrapped, "ops@example.com", "ops", ttl=timedelta(seconds=-1))
    forged = jwt.encode(
        {"sub": "ops@example.com", "roles": ["admin"], "exp": 9_999_999_999}, "guess", algorithm="HS256"
    )
    unsigned = jwt.encode({"sub": "x", "roles": ["admin"], "exp": 9_999_999_999}, None, algorithm="none")
    for bad in (expired, f"{head}.{body}.{signature[::-1]}", forged, unsigned, f"{head}.{body}."):
        response = await client.get("/api/vendors", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.json()["code"] == "not_authenticated"


async def test_sign_in_refresh_and_rotation(client, bootstrapped: Settings) -> None:
    await _user(bootstrapped, "Signer@Example.com", "correct horse battery", "approver")
    wrong = await client.post("/token", data={"username": "signer@example.com", "password": "nope nope nope"})
    unknown = await client.post("/token", data={"username": "nobody@example.com", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"], "the answer does not tell which addresses exist"

    signed_in = await client.post(
        "/token", data={"username": "signer@example.com", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 200, signed_in.text
    pair = signed_in.json()
    assert pair["token_type"] == "bearer" and pair["access_token"] and pair["refresh_token"]
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["email"] == "signer@example.com" and me.json()["roles"] == ["approver"]

    renewed = await client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != pair["refresh_token"]
    # The old refresh token was used: presenting it again signs out every session it started.
    replay = await client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    after = await client.post("/token/refresh", json={"refresh_token": renewed.json()["refresh_token"]})
    assert after.status_code == 401
    # ...and every access token of the account, at once: the thief may hold one issued before the reuse.
    for token in (pair["access_token"], renewed.json()["access_token"]):
        stale = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert stale.status_code == 401 and stale.json()["code"] == "not_authenticated"


async def test_a_deactivated_user_is_locked_out_at_once_whatever_the_credential(
    client,
    bootstrapped: Settings,
) -> None:
    token = {"Authorization": f"Bearer {await _token(bootstrapped, 'leaver@example.com', 'ops')}"}
    key = await api_key_headers(bootstrapped, "leaver@example.com", "ops")
    for headers in (token, key):
        assert (await client.get("/api/vendors", headers=headers)).status_code == 200  # also warms the cache
    me = (await client.get("/users/me", headers=token)).json()
    admin = {"Authorization": f"Bearer {await _token(bootstrapped, 'root@example.com', 'admin')}"}
    gone = await client.post(f"/users/{me['id']}/deactivate", headers=admin)
    assert gone.status_code == 200 and gone.json()["active"] is False
    for headers in (token, key):
        refused = await client.get("/api/vendors", headers=headers)
        assert refused.status_code == 401, refused.text


async def test_signing_out_everywhere_ends_the_access_tokens_already_issued(
    client,
    bootstrapped: Settings,
) -> None:
    token = {"Authorization": f"Bearer {await _token(bootstrapped, 'traveller@example.com', 'auditor')}"}
    assert (await client.get("/api/decisions", headers=token)).status_code == 200
    assert (await client.post("/users/me/sign-out", headers=token)).status_code == 204
    assert (await client.get("/api/decisions", headers=token)).status_code == 401
    fresh = {"Authorization": f"Bearer {await _token(bootstrapped, 'traveller@example.com', 'auditor')}"}
    assert (await client.get("/api/decisions", headers=fresh)).status_code == 200


async def test_admins_create_users_and_nobody_exists_by_default(client, bootstrapped: Settings) -> None:
    nobody = await client.post("/token", data={"username": "admin", "password": "admin"})
    assert nobody.status_code == 401
    admin = {"Authorization": f"Bearer {await _token(bootstrapped, 'root@example.com', 'admin')}"}
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
