from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from pydantic import SecretStr

from api.app import create_app
from finance.settings import Settings
from tests.fixtures.credentials import api_key_headers
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture
from tests.fixtures.vendors import register_sample_vendors


@pytest_asyncio.fixture
async def bootstrapped(settings: Settings) -> Settings:
    """A chain with the stablecoin deployed and the sample vendors registered, as ops would leave it."""
    from agents.runtime import open_treasurer

    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
        await register_sample_vendors(treasurer)
    return settings


@pytest_asyncio.fixture
async def client(bootstrapped: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(bootstrapped)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test") as http:
            yield http


@pytest_asyncio.fixture
async def unlimited_client(bootstrapped: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its request-rate limits out of the way: tests that send hundreds of requests in seconds."""
    settings = bootstrapped.model_copy(
        update={"rate_limit_per_user_per_minute": 10**9, "rate_limit_per_ip_per_minute": 10**9}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test", timeout=60) as http:
            http.app = app
            yield http


@pytest_asyncio.fixture
async def ops(bootstrapped: Settings) -> dict[str, str]:
    """Headers of an operator (role ops)."""
    return await api_key_headers(bootstrapped, "ops.one@example.com", "ops")


@pytest_asyncio.fixture
async def second_ops(bootstrapped: Settings) -> dict[str, str]:
    return await api_key_headers(bootstrapped, "ops.two@example.com", "ops")


@pytest_asyncio.fixture
async def cfo(bootstrapped: Settings) -> dict[str, str]:
    return await api_key_headers(bootstrapped, "cfo@example.com", "cfo")


@pytest_asyncio.fixture
async def auditor(bootstrapped: Settings) -> dict[str, str]:
    return await api_key_headers(bootstrapped, "auditor@example.com", "auditor")


@pytest_asyncio.fixture
async def read_by_model(
    bootstrapped: Settings,
    openai_server: FakeOpenAI,  # noqa: F811 - the fixture, by name
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with an LLM extractor whose model is the local OpenAI-compatible server: queue its answers first.
    A generous timeout: a scan is read by OCR before the model is asked."""
    settings = bootstrapped.model_copy(
        update={
            "llm_model": "gpt-4o-mini",
            "openai_api_key": SecretStr("test-key"),
            "openai_base_url": openai_server.base_url,
            "llm_max_attempts": 1,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test", timeout=120) as http:
            yield http
