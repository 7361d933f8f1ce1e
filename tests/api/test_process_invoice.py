"""POST /api/process-invoice: the original design's contract, and every kind of bad input."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from api.demo import sample_invoices

SAMPLES = dict(sample_invoices())
KEYS = {"invoice_id", "status", "reason", "tx_hash", "approval_id"}


@pytest.mark.parametrize(
    ("sample", "code", "status"),
    [
        ("01-acme-hosting.txt", 200, "SUCCESS"),
        ("03-globex-over-limit.txt", 202, "PAUSED_FOR_APPROVAL"),
        ("04-unknown-vendor.txt", 403, "BLOCKED"),
        ("05-malformed.txt", 403, "BLOCKED"),
    ],
)
async def test_decisions_map_to_status_codes(
    client: httpx.AsyncClient, cfo: dict, sample: str, code: int, status: str
) -> None:
    response = await client.post("/api/process-invoice", json={"raw_text": SAMPLES[sample]}, headers=cfo)
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == KEYS
    assert body["status"] == status
    assert body["reason"]
    if status == "SUCCESS":
        assert body["tx_hash"].startswith("0x") and len(body["tx_hash"]) == 66
    else:
        assert body["tx_hash"] is None

    detail = (await client.get(f"/api/invoices/{body['invoice_id']}", headers=cfo)).json()
    assert detail["status"] == status
    assert [d["step"] for d in detail["decisions"]][:2] == ["extract", "evaluate"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"raw_text": ""}, "empty"),
        ({"raw_text": "   \n\t "}, "empty"),
        ({"raw_text": "x" * 1_000_001}, "limit is 1000000 bytes"),
        ({"raw_text": "PDF\x00\x01\x02binary"}, "binary"),
        ({"raw_text": "".join(chr(i % 31 + 1) for i in range(500))}, "binary"),
        ({"text": "Invoice"}, "raw_text"),
        ({"raw_text": 42}, "string"),
    ],
)
async def test_bad_input_gets_a_clear_422_and_stores_nothing(
    client: httpx.AsyncClient, cfo: dict, payload: dict, message: str
) -> None:
    response = await client.post("/api/process-invoice", json=payload, headers=cfo)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    await _assert_no_invoices(client)


async def test_non_utf8_body_is_422(client: httpx.AsyncClient, cfo: dict) -> None:
    body = b'{"raw_text": "Rechnung \xff\xfe Betrag"}'
    response = await client.post(
        "/api/process-invoice", content=body, headers={**cfo, "content-type": "application/json"}
    )
    assert response.status_code == 422
    await _assert_no_invoices(client)


async def test_huge_body_is_refused_before_reading(client: httpx.AsyncClient, cfo: dict) -> None:
    response = await client.post(
        "/api/process-invoice", content=b"x" * 11_000_000, headers={**cfo, "content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_negative_amount_is_blocked_and_nothing_is_paid(client: httpx.AsyncClient, cfo: dict) -> None:
    text = SAMPLES["01-acme-hosting.txt"].replace("Total: USD 1,250.00", "Total: USD -1,250.00")
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 403
    assert response.json()["status"] == "BLOCKED"


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert set(body) == {"status", "timestamp", "version", "services"}
    assert body["services"] == {
        "database": "up",
        "redis": "up",
        "blockchain": "up",
        "smtp": "not configured (outbox)",
    }


async def _assert_no_invoices(client: httpx.AsyncClient) -> None:
    from finance.models import Invoice

    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


async def test_an_unreachable_chain_is_503_and_the_invoice_is_kept(client: httpx.AsyncClient, cfo: dict) -> None:
    import aiohttp

    from finance.models import Invoice

    treasurer = client._transport.app.state.treasurer
    chain = treasurer.context.chain
    real = chain._rpc, chain._raw_quantity

    async def down(method: str, params: list):
        raise aiohttp.ClientConnectionError("connection refused")

    # The node is gone before the policy could read the balance: nothing may be decided without it.
    chain._rpc = chain._raw_quantity = down
    try:
        response = await client.post(
            "/api/process-invoice", json={"raw_text": SAMPLES["01-acme-hosting.txt"]}, headers=cfo
        )
    finally:
        chain._rpc, chain._raw_quantity = real
    assert response.status_code == 503 and response.headers["retry-after"] == "10"
    assert "unreachable" in response.json()["detail"]
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
