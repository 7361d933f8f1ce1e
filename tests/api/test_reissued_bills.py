"""A bill is paid once, however it comes back: re-issued with a zero dropped from its number and a day later,
read by a model that reports its PO number and a service date instead, or sent again as the same text. Through
the API, with the offline extractor and with a lying OpenAI-compatible model; each ends with a person, never
paid a second time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from pydantic import SecretStr

from api.app import create_app
from finance.settings import Settings
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture

BILL = """\
Northwind Traders Ltd
12 Harbour Road, Portsmouth PO1 3AX, United Kingdom

TAX INVOICE
Invoice No: {number}
Invoice date: {issued}
Customer PO: PO-55210
Service period: 2024-05-01 to 2024-05-31

Description                          Qty   Unit price     Amount
Cold storage, May                     1     2,000.00   2,000.00
Handling and dispatch                 1       450.00     450.00

Total due: USD 2,450.00
"""


@asynccontextmanager
async def _api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test", timeout=60) as http:
            yield http


async def _submit(http: httpx.AsyncClient, cfo: dict, text: str) -> dict:
    response = await http.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code in (200, 202, 403), response.text
    return response.json()


async def test_a_reissued_bill_goes_to_a_person_offline_and_with_a_lying_model(
    client: httpx.AsyncClient,
    bootstrapped: Settings,
    cfo: dict,
    openai_server: FakeOpenAI,  # noqa: F811 - the fixture, by name
) -> None:
    paid = await _submit(client, cfo, BILL.format(number="NW-2024-0117", issued="2024-06-03"))
    assert paid["status"] == "SUCCESS", paid

    # Offline: the same bill re-issued with a zero dropped from its number and dated a day later.
    reissued = await _submit(client, cfo, BILL.format(number="NW-2024-117", issued="2024-06-04"))
    assert reissued["status"] == "PAUSED_FOR_APPROVAL", reissued
    assert "possibly the same bill" in reissued["reason"] and "loosely" in reissued["reason"]

    # The very same text again: the same document, blocked as a duplicate.
    again = await _submit(client, cfo, BILL.format(number="NW-2024-0117", issued="2024-06-03"))
    assert again["status"] == "BLOCKED" and "duplicate" in again["reason"], again

    # A model that reports the printed PO number as the invoice number and the service period's start as the issue
    # date: every value is printed (grounded), but it disagrees with the offline reading, so a person looks.
    openai_server.reply_structured(
        {
            "vendor": "Northwind Traders Ltd",
            "invoice_number": "PO-55210",
            "issue_date": "2024-05-01",
            "total": "2450.00",
            "currency": "USD",
            "payee_account": None,
            "line_items": [],
        }
    )
    lying = bootstrapped.model_copy(
        update={
            "llm_model": "gpt-4o-mini",
            "openai_api_key": SecretStr("test-key"),
            "openai_base_url": openai_server.base_url,
            "llm_max_attempts": 1,
        }
    )
    async with _api(lying) as http:
        read_by_model = await _submit(http, cfo, BILL.format(number="NW-2024-00117", issued="2024-07-20"))
    assert read_by_model["status"] == "PAUSED_FOR_APPROVAL", read_by_model
    assert "disagreement:invoice_number" in read_by_model["reason"]
    assert "disagreement:issue_date" in read_by_model["reason"]
    assert len(openai_server.requests) == 1
