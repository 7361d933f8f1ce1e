"""Readiness reports each dependency and answers 503 when one is down."""

from __future__ import annotations

import httpx

from api.app import create_app
from finance.settings import Settings


async def test_ready_is_503_when_redis_is_down(bootstrapped: Settings) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    app = create_app(bootstrapped.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            response = await http.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["services"] == {"database": "up", "redis": "down", "blockchain": "up"}


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
