"""The transactions API: the original design's payment list (a plain list) and one payment with its attempts."""

from __future__ import annotations

import uuid

import httpx
import pytest

from api.demo import sample_invoices
from finance.settings import Settings
from tests.fixtures.credentials import api_key_headers

SAMPLES = dict(sample_invoices())
KEYS = {
    "id",
    "invoice_id",
    "vendor_id",
    "vendor",
    "payee_address",
    "amount",
    "currency",
    "status",
    "tx_hash",
    "created_at",
    "settled_at",
    "failure_reason",
    "attempts",
}
ATTEMPT_KEYS = {
    "attempt_no",
    "nonce",
    "tx_hash",
    "status",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "gas_used",
    "block_number",
    "error",
    "created_at",
}


async def _pay(client: httpx.AsyncClient, cfo: dict, text: str) -> str:
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 200, response.text
    return response.json()["invoice_id"]


async def _two_payments(client: httpx.AsyncClient, cfo: dict) -> tuple[str, str]:
    first = await _pay(client, cfo, SAMPLES["01-acme-hosting.txt"])
    second = await _pay(client, cfo, SAMPLES["02-northwind.txt"])
    return first, second


async def test_transactions_need_a_reader_role(client: httpx.AsyncClient, bootstrapped: Settings) -> None:
    assert (await client.get("/api/transactions")).status_code == 401
    assert (await client.get(f"/api/transactions/{uuid.uuid4()}")).status_code == 401
    approver = await api_key_headers(bootstrapped, "approver@example.com", "approver")
    response = await client.get("/api/transactions", headers=approver)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert (await client.get(f"/api/transactions/{uuid.uuid4()}", headers=approver)).status_code == 403


async def test_the_list_is_the_original_shape_newest_first(
    client: httpx.AsyncClient, cfo: dict, ops: dict, auditor: dict
) -> None:
    assert (await client.get("/api/transactions", headers=auditor)).json() == []
    acme_invoice, northwind_invoice = await _two_payments(client, cfo)

    for headers in (cfo, ops, auditor):
        response = await client.get("/api/transactions", headers=headers)
        assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 2
    assert all(set(item) == KEYS for item in body)
    northwind, acme = body  # newest first
    assert (northwind["invoice_id"], acme["invoice_id"]) == (northwind_invoice, acme_invoice)
    assert acme["vendor"] == "ACME Hosting GmbH"
    assert acme["amount"] == "1250.000000" and northwind["amount"] == "980.500000"
    assert acme["currency"] == "USD"
    assert acme["status"] == "confirmed" and acme["attempts"] == 1
    assert acme["tx_hash"].startswith("0x") and len(acme["tx_hash"]) == 66
    assert acme["settled_at"] is not None and acme["failure_reason"] is None
    assert acme["payee_address"].startswith("0x")


async def test_pagination_and_filters(client: httpx.AsyncClient, cfo: dict, ops: dict) -> None:
    await _two_payments(client, cfo)
    everything = (await client.get("/api/transactions", headers=ops)).json()

    first = (await client.get("/api/transactions", params={"limit": 1}, headers=ops)).json()
    second = (await client.get("/api/transactions", params={"limit": 1, "offset": 1}, headers=ops)).json()
    beyond = (await client.get("/api/transactions", params={"offset": 2}, headers=ops)).json()
    assert [first[0]["id"], second[0]["id"]] == [t["id"] for t in everything] and beyond == []

    confirmed = (await client.get("/api/transactions", params={"status": "confirmed"}, headers=ops)).json()
    assert len(confirmed) == 2
    assert (await client.get("/api/transactions", params={"status": "failed"}, headers=ops)).json() == []

    acme_vendor = everything[1]["vendor_id"]
    by_vendor = (await client.get("/api/transactions", params={"vendor_id": acme_vendor}, headers=ops)).json()
    assert [t["vendor_id"] for t in by_vendor] == [acme_vendor]
    nobody = {"vendor_id": str(uuid.uuid4())}
    assert (await client.get("/api/transactions", params=nobody, headers=ops)).json() == []


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"status": "paid"}, {"vendor_id": "acme"}]
)
async def test_bad_query_parameters_are_422(client: httpx.AsyncClient, ops: dict, params: dict) -> None:
    response = await client.get("/api/transactions", params=params, headers=ops)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


async def test_one_transaction_with_its_attempt_history(client: httpx.AsyncClient, cfo: dict, auditor: dict) -> None:
    await _pay(client, cfo, SAMPLES["01-acme-hosting.txt"])
    listed = (await client.get("/api/transactions", headers=auditor)).json()[0]

    response = await client.get(f"/api/transactions/{listed['id']}", headers=auditor)
    assert response.status_code == 200
    detail = response.json()
    assert set(detail) == KEYS | {"attempt_history"}
    assert {k: detail[k] for k in KEYS} == listed
    [attempt] = detail["attempt_history"]
    assert set(attempt) == ATTEMPT_KEYS
    assert attempt["attempt_no"] == 1 and attempt["status"] == "mined"
    assert attempt["tx_hash"] == detail["tx_hash"]
    assert isinstance(attempt["nonce"], int)
    # Fees are wei as integer strings: they do not fit a JSON number safely.
    for fee in ("max_fee_per_gas", "max_priority_fee_per_gas"):
        assert isinstance(attempt[fee], str) and attempt[fee].isdigit()
    assert isinstance(attempt["block_number"], int) and isinstance(attempt["gas_used"], int)
    assert attempt["error"] is None


async def test_unknown_transaction_is_404(client: httpx.AsyncClient, ops: dict) -> None:
    response = await client.get(f"/api/transactions/{uuid.uuid4()}", headers=ops)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert (await client.get("/api/transactions/not-a-uuid", headers=ops)).status_code == 422
