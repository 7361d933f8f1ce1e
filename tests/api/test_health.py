"""Readiness reports each dependency and answers 503 when one is down."""

from __future__ import annotations

import httpx

from api.app import create_app
from finance.settings import Settings
from tests.fixtures.smtp import SmtpServer, free_port


async def _ready(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return await http.get("/health/ready")


async def test_the_outbox_is_not_a_dependency(bootstrapped: Settings) -> None:
    response = await _ready(bootstrapped)
    assert response.status_code == 200
    assert response.json()["services"]["smtp"] == "not configured (outbox)"


async def test_ready_greets_the_smtp_server(bootstrapped: Settings, smtp_server: SmtpServer) -> None:
    settings = bootstrapped.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "smtp_security": "none"}
    )
    response = await _ready(settings)
    assert response.status_code == 200
    assert response.json()["services"] == {"database": "up", "redis": "up", "blockchain": "up", "smtp": "up"}
    assert smtp_server.messages == []  # greeted and left; nothing sent


async def test_ready_is_503_when_the_smtp_server_is_down(bootstrapped: Settings) -> None:
    settings = bootstrapped.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none"}
    )
    response = await _ready(settings)
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["services"]["smtp"] == "down"


async def test_ready_is_503_when_redis_is_down(bootstrapped: Settings) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    app = create_app(bootstrapped.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            response = await http.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["services"] == {
        "database": "up",
        "redis": "down",
        "blockchain": "up",
        "smtp": "not configured (outbox)",
    }


async def test_ready_is_503_when_the_chain_goes_down(bootstrapped: Settings) -> None:
    from tests.conftest import start_anvil

    node = start_anvil()
    try:
        settings = bootstrapped.model_copy(update={"chain_rpc_url": node.url})
        from agents.runtime import open_treasurer

        async with open_treasurer(settings, bootstrap_chain=True):
            pass
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                assert (await http.get("/health/ready")).status_code == 200
                node.stop()
                response = await http.get("/health/ready")
    finally:
        node.stop()
    assert response.status_code == 503
    assert response.json()["services"]["blockchain"] == "down"


async def test_ready_greets_a_starttls_server_without_upgrading(
    bootstrapped: Settings, smtp_starttls_server: SmtpServer
) -> None:
    settings = bootstrapped.model_copy(
        update={"smtp_host": smtp_starttls_server.host, "smtp_port": smtp_starttls_server.port}
    )
    response = await _ready(settings)
    assert response.json()["services"]["smtp"] == "up"
