"""Request ids, JSON logs without secrets, and /metrics (Prometheus text and the JSON summary)."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.demo import sample_invoices
from finance.logs import bind_invoice, configure_logging
from finance.settings import Settings

SAMPLES = dict(sample_invoices())
SUMMARY_KEYS = {
    "invoices_processed",
    "transactions_approved",
    "transactions_rejected",
    "total_amount_processed",
    "api_requests",
    "errors",
    "uptime",
}


@pytest.fixture
def log_lines(bootstrapped: Settings) -> Iterator[io.StringIO]:
    """The treasurer's JSON log handler, writing to a buffer; removed again after the test."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging(
        bootstrapped.model_copy(update={"log_format": "json", "log_level": "DEBUG"}), stream=buffer
    )
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest_asyncio.fixture
async def app_client(bootstrapped: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, for tests that also need the app (its treasurer) at hand."""
    app = create_app(bootstrapped)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


async def test_a_request_id_is_generated_or_echoed(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/health/live")).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert (await client.get("/health/live", headers={"X-Request-ID": "lb-7.a_b-c"})).headers["X-Request-ID"] == (
        "lb-7.a_b-c"
    )
    # Anything that could forge a log line or bloat it is replaced, not echoed.
    for bad in ("has space", "x" * 65, "semi;colon"):
        echoed = (await client.get("/health/live", headers={"X-Request-ID": bad})).headers["X-Request-ID"]
        assert echoed != bad and re.fullmatch(r"[0-9a-f]{32}", echoed)


async def test_the_access_line_is_json_with_the_request_id_and_no_credential(
    client: httpx.AsyncClient, ops: dict, log_lines: io.StringIO
) -> None:
    vendor = uuid.uuid4()
    response = await client.get(f"/api/vendors/{vendor}?secret=q", headers={**ops, "X-Request-ID": "req-obs-1"})
    assert response.status_code == 404
    access = [r for r in _records(log_lines) if r["logger"] == "treasurer.access" and r["request_id"] == "req-obs-1"]
    assert len(access) == 1
    line = access[0]
    assert {"ts", "level", "logger", "message", "request_id", "invoice_id"} <= set(line)
    assert line["route"] == "/api/vendors/{vendor_id}" and line["status"] == 404 and line["method"] == "GET"
    text = log_lines.getvalue()
    credential = ops["Authorization"].removeprefix("Bearer ")
    assert credential not in text
    assert str(vendor) not in text and "secret=q" not in text  # route template only, no query string


def test_secrets_are_masked_and_the_invoice_is_bound(log_lines: io.StringIO) -> None:
    log = logging.getLogger("treasurer.test")
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlLXBhcnQ"
    key = "0x" + "ab" * 32
    with bind_invoice("inv-42"):
        log.info("headers %s", {"Authorization": "Bearer tk_live_abcdef"})
        log.info("token %s and key %s; url postgresql://u:hunter2@db/x; password=hunter3", jwt, key)
        try:
            raise RuntimeError(f"signing with {key} failed")
        except RuntimeError:
            log.exception("boom")
    log.info("after")
    records = _records(log_lines)
    text = log_lines.getvalue()
    for secret in ("tk_live_abcdef", jwt, key, "hunter2", "hunter3"):
        assert secret not in text
    assert [r["invoice_id"] for r in records] == ["inv-42", "inv-42", "inv-42", None]
    assert "RuntimeError" in records[2]["exc_info"]


async def test_metrics_text_has_route_templates_and_invoice_counts(
    app_client: httpx.AsyncClient, ops: dict, bootstrapped: Settings
) -> None:
    treasurer = app_client._transport.app.state.treasurer
    result = await treasurer.process(await treasurer.submit(SAMPLES["01-acme-hosting.txt"], "cfo@example.com"))
    assert result.status == "paid", result
    vendor = uuid.uuid4()
    await app_client.get(f"/api/vendors/{vendor}", headers=ops)
    await app_client.get("/no/such/path")

    response = await app_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert re.search(
        r'treasurer_http_request_duration_seconds_count\{method="GET",route="/api/vendors/\{vendor_id\}",status="4xx"\}',
        body,
    )
    assert 'route="unmatched"' in body
    assert str(vendor) not in body and "/no/such/path" not in body
    assert 'treasurer_invoices{status="paid"} 1.0' in body
    assert 'treasurer_payments{status="confirmed"} 1.0' in body
    assert f'treasurer_queue_depth{{stream="{bootstrapped.intake_stream}"}}' in body
    assert 'treasurer_metrics_source_up{source="database"} 1.0' in body
    assert 'treasurer_metrics_source_up{source="redis"} 1.0' in body


async def test_the_json_summary_needs_a_reader_credential(app_client: httpx.AsyncClient, ops: dict, cfo: dict) -> None:
    treasurer = app_client._transport.app.state.treasurer
    await treasurer.process(await treasurer.submit(SAMPLES["01-acme-hosting.txt"], "cfo@example.com"))
    await treasurer.process(await treasurer.submit(SAMPLES["04-unknown-vendor.txt"], "cfo@example.com"))
    accept = {"Accept": "application/json"}

    anonymous = await app_client.get("/metrics", headers=accept)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert (await app_client.get("/metrics", headers={**accept, "Authorization": "Bearer nope"})).status_code == 401
    assert (await app_client.get("/metrics", headers={**accept, **cfo})).status_code == 403

    response = await app_client.get("/metrics", headers={**accept, **ops})
    assert response.status_code == 200
    summary = response.json()
    assert set(summary) == SUMMARY_KEYS
    assert summary["invoices_processed"] == 2
    assert summary["transactions_approved"] == 1
    assert summary["transactions_rejected"] == 1
    assert summary["total_amount_processed"] == "1250.000000"
    assert summary["api_requests"] >= 3 and summary["errors"] >= 0
    assert summary["uptime"] > 0


async def test_a_scrape_survives_redis_being_down(bootstrapped: Settings) -> None:
    app = create_app(bootstrapped.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            response = await http.get("/metrics")
    assert response.status_code == 200
    assert 'treasurer_metrics_source_up{source="redis"} 0.0' in response.text
    assert 'treasurer_metrics_source_up{source="database"} 1.0' in response.text
