"""The page is checked against itself whoever reads it: a model that gives the attacker's favourite reading of a
self-contradicting bill or of a bill with new payout details (every value it reports is printed on the page, so
it passes the grounding) still sends the bill to a person or blocks it. Through the API, with the local
OpenAI-compatible server answering as the lying model."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_payee_change import ACME_WALLET, PAYEE_CHANGES
from tests.api.test_payee_change import _bill as payee_bill
from tests.api.test_self_consistency import ATTACKS, TABLE, TWO_ROWS
from tests.api.test_self_consistency import _bill as consistency_bill
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture

# What a model on the attacker's side reports for each self-contradicting bill: the printed total it would like
# paid, and nothing about corrections, reminders or the second total.
CONVENIENT_TOTALS = {
    "total far above the lines": ("AT-101", "4750.00"),
    "total under the limit, lines over it": ("AT-102", "4980.00"),
    "second grand total after 30,000 characters": ("AT-103", "750.00"),
    "corrected invoice raising a paid bill": ("AT-104", "4980.00"),
    "amount in words disagreeing with the digits": ("AT-105", "4890.00"),
    "ambiguous decimal mark": ("AT-106", "4950.00"),
    "payment reminder in German": ("AT-107", "750.00"),
}


def _reading(number: str, issued: str, total: str, payee: str | None = None) -> dict:
    return {
        "vendor": "ACME Hosting GmbH",
        "invoice_number": number,
        "issue_date": issued,
        "total": total,
        "currency": "USD",
        "payee_account": payee,
        "line_items": [],
    }


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_lying_model_does_not_hide_a_self_contradicting_bill(
    read_by_model: httpx.AsyncClient,
    openai_server: FakeOpenAI,  # noqa: F811 - the fixture, by name
    cfo: dict,
    attack: str,
) -> None:
    text, flag = ATTACKS[attack]
    number, total = CONVENIENT_TOTALS[attack]
    openai_server.reply_structured(_reading(number, "2025-05-06", total))
    response = await read_by_model.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PAUSED_FOR_APPROVAL" and body["tx_hash"] is None, body
    assert flag in body["reason"], body["reason"]
    assert "llm_failed" not in body["reason"], "the model's reading must be the one used"
    assert len(openai_server.requests) == 1


async def test_a_lying_model_does_not_turn_a_credit_note_into_a_bill(
    read_by_model: httpx.AsyncClient,
    openai_server: FakeOpenAI,  # noqa: F811
    cfo: dict,
) -> None:
    text = consistency_bill("AT-108", TABLE.format(rows=TWO_ROWS) + "\nTotal: USD 750.00\n", title="AVOIR N° AV-2025-3")
    openai_server.reply_structured(_reading("AT-108", "2025-05-06", "750.00"))
    response = await read_by_model.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 403, response.text
    assert response.json()["status"] == "BLOCKED" and "credit note" in response.json()["reason"]


@pytest.mark.parametrize(("number", "payment_lines", "reasons"), PAYEE_CHANGES)
async def test_a_lying_model_does_not_hide_new_payout_details(
    read_by_model: httpx.AsyncClient,
    openai_server: FakeOpenAI,  # noqa: F811
    cfo: dict,
    number: str,
    payment_lines: str,
    reasons: list[str],
) -> None:
    # The model reports the registered wallet where the page prints it, and no payout account otherwise.
    text = payee_bill(number, payment_lines)
    payee = ACME_WALLET if ACME_WALLET in text else None
    openai_server.reply_structured(_reading(number, "2025-02-03", "310.00", payee))
    response = await read_by_model.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PAUSED_FOR_APPROVAL" and body["tx_hash"] is None, body
    for reason in reasons:
        assert reason in body["reason"], body["reason"]
