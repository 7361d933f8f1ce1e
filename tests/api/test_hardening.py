"""Security headers, CORS, rate limits (and their failing open), and errors that still carry a request id."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.app import create_app
from api.middleware.security import DOCS_CSP, STRICT_CSP
from finance.settings import Settings


@asynccontextmanager
async def _serve(settings: Settings, base_url: str = "http://t", **update: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=update))

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http


async def _fresh_window() -> None:
    # Counters live in one-minute windows: start a burst far enough from the boundary that it stays in one.
    if time.time() % 60 > 55:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health/live"), await client.get("/api/vendors"), await client.get("/nope")):
        assert response.headers["Content-Security-Policy"] == STRICT_CSP
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in response.headers  # plain http outside production
    # Swagger UI needs its CDN; the approval pages keep their own, stricter policy.
    assert (await client.get("/docs")).headers["Content-Security-Policy"] == DOCS_CSP
    page = await client.get("/approvals/link", params={"token": "not-a-token"})
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_hsts_over_https_and_in_production(bootstrapped: Settings) -> None:
    async with _serve(bootstrapped, base_url="https://t") as https:
        assert (await https.get("/health/live")).headers["Strict-Transport-Security"] == (
            f"max-age={bootstrapped.hsts_seconds}; includeSubDomains"
        )
    async with _serve(bootstrapped, environment="production", hsts_seconds=60) as http:
        assert (await http.get("/health/live")).headers["Strict-Transport-Security"] == "max-age=60; includeSubDomains"


async def test_cors_preflight_is_allowed_only_for_configured_origins(
    client: httpx.AsyncClient, bootstrapped: Settings
) -> None:
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    # None configured: no CORS headers at all.
    response = await client.options("/api/vendors", headers={**preflight, "Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers

    async with _serve(bootstrapped, cors_origins=["https://app.example.com"]) as http:
        allowed = await http.options("/api/vendors", headers={**preflight, "Origin": "https://app.example.com"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = await http.options("/api/vendors", headers={**preflight, "Origin": "https://evil.example"})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        simple = await http.get("/health/live", headers={"Origin": "https://app.example.com"})
        assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "X-Request-ID" in simple.headers["access-control-expose-headers"]


async def test_the_fourth_request_from_one_ip_is_429(bootstrapped: Settings) -> None:
    await _fresh_window()
    async with _serve(bootstrapped, rate_limit_per_ip_per_minute=3) as http:
        codes = [(await http.get("/api/vendors")).status_code for _ in range(3)]
        assert 429 not in codes
        limited = await http.get("/api/vendors")
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.headers["X-Request-ID"] and limited.headers["X-Frame-Options"] == "DENY"
        # Probes and scrapes are never limited.
        assert (await http.get("/health/live")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200


async def test_each_credential_has_its_own_budget(bootstrapped: Settings, ops: dict, second_ops: dict) -> None:
    await _fresh_window()
    async with _serve(bootstrapped, rate_limit_per_user_per_minute=2) as http:
        assert [(await http.get("/api/vendors", headers=ops)).status_code for _ in range(2)] == [200, 200]
        assert (await http.get("/api/vendors", headers=ops)).status_code == 429
        assert (await http.get("/api/vendors", headers=second_ops)).status_code == 200


async def test_requests_pass_when_redis_is_down(
    bootstrapped: Settings, ops: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="treasurer.ratelimit")
    async with _serve(bootstrapped, redis_url="redis://127.0.0.1:1/0", rate_limit_per_ip_per_minute=1) as http:
        codes = [(await http.get("/api/vendors", headers=ops)).status_code for _ in range(5)]
    assert codes == [200] * 5
    warnings = [r for r in caplog.records if r.name == "treasurer.ratelimit"]
    assert len(warnings) == 1  # once, not once per request


async def test_an_unhandled_error_is_a_json_500_with_the_request_id(bootstrapped: Settings) -> None:
    async with _serve(bootstrapped) as http:
        response = await http.get("/boom", headers={"X-Request-ID": "req-boom"})
        metrics = (await http.get("/metrics")).text
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal", "request_id": "req-boom"}
    assert response.headers["X-Request-ID"] == "req-boom"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert 'route="/boom",status="5xx"' in metrics


async def test_an_oversized_body_still_gets_the_headers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/process-invoice", content=b"{}", headers={"content-length": str(64 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert response.headers["X-Request-ID"] and response.headers["X-Frame-Options"] == "DENY"
