"""The decision log for auditors: filtered pages, the CSV export (escaped, formula-safe), chain verification."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from api.demo import sample_invoices
from finance.db import create_engine, session_factory
from finance.decisions import DecisionLog
from finance.settings import Settings
from tests.fixtures.credentials import api_key_headers

SAMPLES = dict(sample_invoices())
ITEM_KEYS = {"id", "invoice_id", "step", "outcome", "reason", "details", "actor", "created_at", "prev_hash", "hash"}
CSV_HEADER = "id,created_at,invoice_id,step,outcome,actor,reason,details_json,prev_hash,hash".split(",")


async def _append(settings: Settings, **fields: object) -> None:
    """A decision written the way the treasurer writes them, with content a spreadsheet would misread."""
    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await DecisionLog(session).append(**{"invoice_id": None, "details": {}, **fields})
    await engine.dispose()


async def _process_two(client: httpx.AsyncClient, cfo: dict) -> tuple[str, str]:
    paid = await client.post("/api/process-invoice", json={"raw_text": SAMPLES["01-acme-hosting.txt"]}, headers=cfo)
    waiting = await client.post(
        "/api/process-invoice", json={"raw_text": SAMPLES["03-globex-over-limit.txt"]}, headers=cfo
    )
    assert (paid.status_code, waiting.status_code) == (200, 202), (paid.text, waiting.text)
    return paid.json()["invoice_id"], waiting.json()["invoice_id"]


@pytest.mark.parametrize("path", ["/api/decisions", "/api/decisions/export.csv", "/api/decisions/verify"])
async def test_auditor_endpoints_need_auditor_ops_or_admin(
    client: httpx.AsyncClient, cfo: dict, ops: dict, auditor: dict, bootstrapped: Settings, path: str
) -> None:
    assert (await client.get(path)).status_code == 401
    response = await client.get(path, headers=cfo)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    admin = await api_key_headers(bootstrapped, "admin@example.com", "admin")
    for headers in (auditor, ops, admin):
        assert (await client.get(path, headers=headers)).status_code == 200


async def test_list_is_paginated_in_chain_order(client: httpx.AsyncClient, cfo: dict, auditor: dict) -> None:
    await _process_two(client, cfo)
    everything = (await client.get("/api/decisions", params={"limit": 200}, headers=auditor)).json()
    assert set(everything) == {"items", "total", "limit", "offset"}
    assert everything["total"] == len(everything["items"]) > 4
    assert (everything["limit"], everything["offset"]) == (200, 0)
    items = everything["items"]
    assert all(set(item) == ITEM_KEYS for item in items)
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    # Each row names its predecessor's hash: the chain is readable from the API alone.
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(items, items[1:], strict=False))

    page = (await client.get("/api/decisions", params={"limit": 2, "offset": 1}, headers=auditor)).json()
    assert page["total"] == everything["total"] and (page["limit"], page["offset"]) == (2, 1)
    assert [i["id"] for i in page["items"]] == [i["id"] for i in items[1:3]]
    assert (await client.get("/api/decisions", params={"limit": 0}, headers=auditor)).status_code == 422
    assert (await client.get("/api/decisions", params={"limit": 201}, headers=auditor)).status_code == 422


async def test_filters(client: httpx.AsyncClient, cfo: dict, auditor: dict) -> None:
    paid, waiting = await _process_two(client, cfo)

    async def get(**params: object) -> dict:
        response = await client.get("/api/decisions", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return response.json()

    mine = await get(invoice_id=waiting)
    assert mine["total"] > 0 and {i["invoice_id"] for i in mine["items"]} == {waiting}
    evaluations = await get(step="evaluate")
    assert {i["invoice_id"] for i in evaluations["items"]} == {paid, waiting}
    held = await get(step="evaluate", outcome="require_approval")
    assert [i["invoice_id"] for i in held["items"]] == [waiting]
    assert (await get(actor="nobody@example.com"))["total"] == 0
    assert (await get(actor="treasurer"))["total"] > 0

    everything = (await get(limit=200))["items"]
    middle = everything[len(everything) // 2]
    since = (await get(since=middle["created_at"], limit=200))["items"]
    until = (await get(until=middle["created_at"], limit=200))["items"]
    # since is inclusive and until exclusive: together they cover the log once.
    assert since[0]["id"] == middle["id"] and [i["id"] for i in until + since] == [i["id"] for i in everything]
    future = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()  # no zone: read as UTC
    assert (await get(since=future))["total"] == 0

    backwards = {"since": middle["created_at"], "until": everything[0]["created_at"]}
    response = await client.get("/api/decisions", params=backwards, headers=auditor)
    assert response.status_code == 422 and "before" in response.json()["detail"]
    response = await client.get("/api/decisions", params={"since": "yesterday"}, headers=auditor)
    assert response.status_code == 422


async def test_csv_export_escapes_and_defuses_formulas(
    client: httpx.AsyncClient, cfo: dict, auditor: dict, bootstrapped: Settings
) -> None:
    await _process_two(client, cfo)
    reason = '=HYPERLINK("http://evil.example","click"), then\nsecond line with "quotes"'
    await _append(
        bootstrapped,
        step="note",
        outcome="+1",
        reason=reason,
        actor="@mallory",
        details={"comment": "-2+3", "why": 'commas, quotes " and\nnewlines'},
    )

    response = await client.get("/api/decisions/export.csv", headers=auditor)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_HEADER
    listed = (await client.get("/api/decisions", params={"limit": 200}, headers=auditor)).json()
    assert len(rows) - 1 == listed["total"]
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in listed["items"]]

    note = dict(zip(CSV_HEADER, rows[-1], strict=True))
    # Every cell a spreadsheet would run as a formula starts with a quote; the rest survives intact.
    assert note["reason"] == "'" + reason
    assert note["outcome"] == "'+1" and note["actor"] == "'@mallory" and note["step"] == "note"
    assert note["invoice_id"] == ""
    assert json.loads(note["details_json"]) == {"comment": "-2+3", "why": 'commas, quotes " and\nnewlines'}
    assert note["hash"] == listed["items"][-1]["hash"] and note["prev_hash"] == listed["items"][-2]["hash"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    # Same filters as the list.
    filtered = await client.get("/api/decisions/export.csv", params={"step": "note"}, headers=auditor)
    assert len(list(csv.reader(io.StringIO(filtered.text)))) == 2
    empty = await client.get("/api/decisions/export.csv", params={"step": "nothing"}, headers=auditor)
    assert list(csv.reader(io.StringIO(empty.text))) == [CSV_HEADER]
    bad = await client.get("/api/decisions/export.csv", params={"invoice_id": "x"}, headers=auditor)
    assert bad.status_code == 422


async def test_verify_reports_an_intact_log_then_the_altered_row(
    client: httpx.AsyncClient, cfo: dict, auditor: dict, bootstrapped: Settings
) -> None:
    await _process_two(client, cfo)
    total = (await client.get("/api/decisions", headers=auditor)).json()["total"]
    intact = (await client.get("/api/decisions/verify", headers=auditor)).json()
    assert intact == {"ok": True, "checked": total, "first_bad_id": None}

    # An attacker with superuser rights switches the append-only guard off and rewrites a row.
    engine = create_engine(bootstrapped.database_url)
    async with session_factory(engine).begin() as session:
        await session.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update"))
        victim = await session.scalar(text("SELECT id FROM decisions ORDER BY id OFFSET 2 LIMIT 1"))
        await session.execute(text("UPDATE decisions SET reason = 'nothing to see' WHERE id = :id"), {"id": victim})
    await engine.dispose()
    broken = (await client.get("/api/decisions/verify", headers=auditor)).json()
    assert broken == {"ok": False, "checked": 2, "first_bad_id": victim}
