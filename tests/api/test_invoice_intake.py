"""Submitting invoices as a signed-in CFO: the caller is the submitter, `Idempotency-Key` makes retries safe,
and the list filters and pages."""

from __future__ import annotations

import asyncio

import pytest

from api.demo import sample_invoices
from finance.settings import Settings
from tests.fixtures.credentials import token_headers

pytestmark = pytest.mark.asyncio
SAMPLES = dict(sample_invoices())


async def _cfo(settings: Settings, who: str = "cfo@example.com") -> dict[str, str]:
    return await token_headers(settings, who, "cfo")


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_pays_once(client, bootstrapped: Settings) -> None:
    headers = {**await _cfo(bootstrapped), "Idempotency-Key": "acme-2024-001-try"}
    body = {"raw_text": SAMPLES["01-acme-hosting.txt"]}
    first = await client.post("/api/process-invoice", json=body, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "SUCCESS"
    retry = await client.post("/api/process-invoice", json=body, headers=headers)
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"

    reused = await client.post("/api/process-invoice", json={"raw_text": SAMPLES["02-northwind.txt"]}, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # Keys belong to their caller: another CFO's same key is another request.
    other = await client.post(
        "/api/process-invoice",
        json={"raw_text": SAMPLES["02-northwind.txt"]},
        headers={**await _cfo(bootstrapped, "cfo2@example.com"), "Idempotency-Key": "acme-2024-001-try"},
    )
    assert other.status_code == 200

    page = (await client.get("/api/invoices", headers=await _cfo(bootstrapped))).json()
    assert page["total"] == 2, "the retry stored nothing"


async def test_concurrent_retries_with_one_key_submit_once(client, bootstrapped: Settings) -> None:
    headers = {**await _cfo(bootstrapped), "Idempotency-Key": "queued-once"}
    body = {"raw_text": SAMPLES["02-northwind.txt"]}
    responses = await asyncio.gather(*(client.post("/api/invoices", json=body, headers=headers) for _ in range(10)))
    accepted = [r for r in responses if r.status_code == 202]
    assert accepted and all(r.json()["invoice_id"] == accepted[0].json()["invoice_id"] for r in accepted)
    assert {r.status_code for r in responses} <= {202, 409}
    assert (await client.get("/api/invoices", headers=await _cfo(bootstrapped))).json()["total"] == 1
    bad_key = await client.post(
        "/api/invoices", json=body, headers={**await _cfo(bootstrapped), "Idempotency-Key": "a b"}
    )
    assert bad_key.status_code == 422


async def test_the_caller_is_the_submitter_and_the_list_filters(client, bootstrapped: Settings) -> None:
    for name in ("01-acme-hosting.txt", "03-globex-over-limit.txt", "04-unknown-vendor.txt"):
        await client.post("/api/process-invoice", json={"raw_text": SAMPLES[name]}, headers=await _cfo(bootstrapped))
    reader = await _cfo(bootstrapped)
    everything = (await client.get("/api/invoices", headers=reader)).json()
    assert everything["total"] == 3 and {i["submitted_by"] for i in everything["items"]} == {"cfo@example.com"}
    paid = (await client.get("/api/invoices", params={"status": "paid"}, headers=reader)).json()
    assert [i["vendor"] for i in paid["items"]] == ["ACME Hosting GmbH"]
    globex = (await client.get("/api/invoices", params={"vendor": "globex"}, headers=reader)).json()
    assert [i["status"] for i in globex["items"]] == ["pending_approval"]
    page = (await client.get("/api/invoices", params={"limit": 2, "offset": 2}, headers=reader)).json()
    assert (len(page["items"]), page["total"], page["offset"]) == (1, 3, 2)
    pattern = (await client.get("/api/invoices", params={"vendor": "%"}, headers=reader)).json()
    assert pattern["total"] == 0, "a filter is a substring, never a LIKE pattern"
    assert (await client.get("/api/invoices", params={"status": "bogus"}, headers=reader)).status_code == 422
