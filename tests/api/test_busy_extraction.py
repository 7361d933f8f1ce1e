"""A long invoice being read does not stop the API from answering: health probes keep their deadline."""

from __future__ import annotations

import asyncio
import time

import httpx

# The largest text the API accepts, built to be slow to read: one line repeating a total label.
SLOW_INVOICE = "ACME Hosting GmbH\nInvoice No: SLOW-1\n" + "Total: 1 " * 110_000


async def test_liveness_answers_while_a_large_invoice_is_processed(client: httpx.AsyncClient, cfo: dict) -> None:
    started = time.perf_counter()
    processing = asyncio.create_task(
        client.post("/api/process-invoice", json={"raw_text": SLOW_INVOICE}, headers=cfo, timeout=120)
    )
    # Soon after the request is under way: since a long text is read only at its ends (reading_window), the whole
    # invoice is done in about a second, and a later probe could arrive after it and prove nothing.
    await asyncio.sleep(0.1)
    assert not processing.done()
    probe_started = time.perf_counter()
    probe = await client.get("/health/live")
    waited = time.perf_counter() - probe_started
    assert probe.status_code == 200
    assert not processing.done(), "the probe was answered only after the invoice"
    assert waited < 1.0, f"the liveness probe took {waited:.2f} s"
    response = await processing
    assert response.status_code in (200, 202, 403), response.text
    assert time.perf_counter() - started > waited


async def test_a_text_over_the_cap_is_refused_before_it_is_read(client: httpx.AsyncClient, cfo: dict) -> None:
    too_long = "Total: 1 " * 120_000  # 1.08 MB
    response = await client.post("/api/process-invoice", json={"raw_text": too_long}, headers=cfo)
    assert response.status_code == 422
    assert "the limit is 1000000 bytes" in response.json()["detail"]
    document = await client.post(
        "/api/process-invoice/document",
        content=too_long.encode(),
        headers={**cfo, "content-type": "text/plain"},
    )
    assert document.status_code == 422
    assert document.json()["code"] == "document_too_large"
    assert "at most 1 MB" in document.json()["detail"]


async def test_a_body_without_a_length_is_counted_and_refused_past_the_limit(
    client: httpx.AsyncClient, cfo: dict
) -> None:
    async def chunks():  # an async generator: httpx sends it chunked, with no Content-Length
        for _ in range(12):
            yield b"x" * 1_000_000

    response = await client.post(
        "/api/process-invoice/document", content=chunks(), headers={**cfo, "content-type": "text/plain"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
