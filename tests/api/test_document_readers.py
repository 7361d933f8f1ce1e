"""A burst of uploads past the readers' queue is refused with 503 and Retry-After, and loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from agents.extraction import document_readers
from api.app import create_app
from api.demo import sample_invoices
from finance.models import Invoice
from finance.settings import Settings
from tests.fixtures.document_gate import Gate

ACME = dict(sample_invoices())["01-acme-hosting.txt"]
URL = "/api/process-invoice/document"


@pytest_asyncio.fixture
async def one_reader(bootstrapped: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(bootstrapped.model_copy(update={"document_readers": 1, "document_read_queue": 0}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test", timeout=60) as http:
            yield http


async def _invoices(http: httpx.AsyncClient) -> int:
    async with http._transport.app.state.treasurer.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Invoice))


async def test_an_upload_past_the_queue_is_refused_and_the_one_being_read_is_paid(
    one_reader: httpx.AsyncClient, cfo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(document_readers, "read_upload", gate.read)
    headers = {**cfo, "content-type": "text/plain"}
    first = asyncio.create_task(one_reader.post(URL, content=ACME.encode(), headers=headers))
    await gate.wait_entered(1)

    refused = await one_reader.post(URL, content=ACME.replace("INV-2024-001", "INV-2024-002").encode(), headers=headers)

    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "readers_busy" and "nothing was stored" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "30"
    assert await _invoices(one_reader) == 0
    gate.opened.set()
    answered = await first
    assert answered.status_code == 200 and answered.json()["status"] == "SUCCESS", answered.text
    assert await _invoices(one_reader) == 1
