"""The dashboard: the original design's summary with alerts, and its activity log."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import text

import tools.treasury
from api.demo import sample_invoices
from finance.db import create_engine, session_factory
from finance.settings import Settings
from tests.fixtures.credentials import access_token, api_key_headers

SAMPLES = dict(sample_invoices())
DASHBOARD_KEYS = {"status", "treasury_balance", "currency", "monthly_burn", "runway_months", "alerts"}
LOG_KEYS = {"timestamp", "event", "balance", "status", "tx_hash", "required", "reason"}
UNITS = 10**6  # the test token has 6 decimals


async def _sql(settings: Settings, statement: str) -> None:
    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await session.execute(text(statement))
    await engine.dispose()


async def _submit(client: httpx.AsyncClient, cfo: dict, name: str, code: int) -> str:
    response = await client.post("/api/process-invoice", json={"raw_text": SAMPLES[name]}, headers=cfo)
    assert response.status_code == code, response.text
    return response.json()["invoice_id"]


def _codes(body: dict) -> dict[str, str]:
    return {a["code"]: a["level"] for a in body["alerts"]}


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/dashboard/logs"])
async def test_every_role_may_read_it_but_only_with_a_credential(
    client: httpx.AsyncClient, bootstrapped: Settings, cfo: dict, ops: dict, path: str
) -> None:
    assert (await client.get(path)).status_code == 401
    # A signed-in person holding none of the roles (API keys always carry one).
    nobody = await access_token(bootstrapped, "nobody@example.com")
    response = await client.get(path, headers={"Authorization": f"Bearer {nobody}"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    for role in ("auditor", "admin", "approver"):
        headers = await api_key_headers(bootstrapped, f"{role}@example.com", role)
        assert (await client.get(path, headers=headers)).status_code == 200
    for headers in (cfo, ops):
        assert (await client.get(path, headers=headers)).status_code == 200


async def test_a_healthy_treasury_is_ok(client: httpx.AsyncClient, cfo: dict, bootstrapped: Settings) -> None:
    response = await client.get("/api/dashboard", headers=cfo)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DASHBOARD_KEYS
    # bootstrap mints 1,000,000; with no history the burn is the 25,000 baseline: 40 months.
    assert body == {
        "status": "ok",
        "treasury_balance": "1000000.000000",
        "currency": "USD",
        "monthly_burn": "25000.000000",
        "runway_months": 40.0,
        "alerts": [],
    }


async def test_pending_approval_is_an_info_alert_and_a_near_deadline_a_warning(
    client: httpx.AsyncClient, cfo: dict, bootstrapped: Settings
) -> None:
    await _submit(client, cfo, "03-globex-over-limit.txt", 202)
    body = (await client.get("/api/dashboard", headers=cfo)).json()
    [alert] = body["alerts"]
    assert set(alert) == {"level", "code", "message"}
    assert (alert["level"], alert["code"]) == ("info", "approvals_pending") and "1 invoice" in alert["message"]
    assert body["status"] == "ok"  # information, nothing wrong yet
    # The waiting invoice is money likely owed within the month: it adds to the burn.
    assert float(body["monthly_burn"]) > 25000

    await _sql(bootstrapped, "UPDATE approval_requests SET deadline = now() + interval '2 hours'")
    body = (await client.get("/api/dashboard", headers=cfo)).json()
    assert _codes(body) == {"approvals_pending": "info", "approvals_due_soon": "warning"}
    assert body["status"] == "warning"


async def test_stuck_and_failed_payments_are_warnings(
    client: httpx.AsyncClient, cfo: dict, bootstrapped: Settings
) -> None:
    await _submit(client, cfo, "01-acme-hosting.txt", 200)
    await _submit(client, cfo, "02-northwind.txt", 200)
    assert _codes((await client.get("/api/dashboard", headers=cfo)).json()) == {}

    # One payment left in flight past the receipt timeout, one failed just now.
    await _sql(
        bootstrapped,
        "UPDATE payments SET status = 'submitted', created_at = now() - interval '1 hour' "
        "WHERE amount_units = 1250000000",
    )
    await _sql(bootstrapped, "UPDATE payments SET status = 'failed' WHERE amount_units = 980500000")
    body = (await client.get("/api/dashboard", headers=cfo)).json()
    assert _codes(body) == {"payments_stuck": "warning", "payments_failed": "warning"}
    assert body["status"] == "warning"


@pytest.mark.parametrize(
    ("balance", "code", "level"), [(50_000, "runway_low", "warning"), (10_000, "runway_critical", "critical")]
)
async def test_short_runway_raises_the_status(
    client: httpx.AsyncClient, cfo: dict, monkeypatch: pytest.MonkeyPatch, balance: int, code: str, level: str
) -> None:
    real = tools.treasury.treasury_runway

    async def poorer(*args, **kwargs):
        return dataclasses.replace(await real(*args, **kwargs), balance_units=balance * UNITS)

    monkeypatch.setattr(tools.treasury, "treasury_runway", poorer)
    body = (await client.get("/api/dashboard", headers=cfo)).json()
    assert body["treasury_balance"] == f"{balance}.000000"
    assert body["runway_months"] == balance / 25_000
    assert _codes(body) == {code: level} and body["status"] == level


async def test_an_unreachable_chain_is_a_critical_alert_not_an_error(
    client: httpx.AsyncClient, cfo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _submit(client, cfo, "03-globex-over-limit.txt", 202)

    async def unreachable(*_args, **_kwargs):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(tools.treasury, "treasury_runway", unreachable)
    response = await client.get("/api/dashboard", headers=cfo)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DASHBOARD_KEYS
    assert (body["treasury_balance"], body["monthly_burn"], body["runway_months"]) == (None, None, None)
    assert body["currency"] == "USD" and body["status"] == "critical"
    # What PostgreSQL knows is still shown.
    assert _codes(body) == {"chain_unreachable": "critical", "approvals_pending": "info"}


async def test_logs_newest_first_with_balance_amount_and_tx_hash(
    client: httpx.AsyncClient, cfo: dict, ops: dict
) -> None:
    paid = await _submit(client, cfo, "01-acme-hosting.txt", 200)
    tx_hash = (await client.get(f"/api/invoices/{paid}", headers=cfo)).json()["tx_hash"]

    response = await client.get("/api/dashboard/logs", headers=cfo)
    assert response.status_code == 200
    logs = response.json()
    assert isinstance(logs, list) and all(set(entry) == LOG_KEYS for entry in logs)
    assert all(isinstance(v, str) or v is None for entry in logs for v in entry.values())
    decisions = (await client.get("/api/decisions", params={"limit": 200}, headers=ops)).json()["items"]
    assert len(logs) == len(decisions)
    assert [(e["event"], e["status"]) for e in logs] == [(d["step"], d["outcome"]) for d in reversed(decisions)]
    assert logs == sorted(logs, key=lambda e: e["timestamp"], reverse=True)

    [evaluation] = [e for e in logs if e["event"] == "evaluate"]
    assert evaluation["status"] == "allow" and evaluation["reason"]
    assert float(evaluation["balance"]) == 1_000_000 and float(evaluation["required"]) == 1250
    confirmed = next(e for e in logs if e["event"] == "pay" and e["status"] == "confirmed")
    assert confirmed["tx_hash"] == tx_hash and confirmed["required"] == "1250.000000"
    assert confirmed["balance"] is None
    # Rows about no invoice (the vendor registry) have no amount.
    assert any(e["event"] == "vendor" and e["required"] is None for e in logs)

    latest = (await client.get("/api/dashboard/logs", params={"limit": 2}, headers=cfo)).json()
    assert latest == logs[:2]
    for bad in (0, 501):
        assert (await client.get("/api/dashboard/logs", params={"limit": bad}, headers=cfo)).status_code == 422
