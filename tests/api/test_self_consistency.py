"""Invoices under the limit that contradict themselves go to a person, never straight to payment.

Each bill comes from a registered, verified sample vendor and is read by the offline extractor; without the
page being checked against itself every one of them would have been paid.
"""

from __future__ import annotations

import httpx
import pytest

HEADER = """ACME Hosting GmbH
Hauptstrasse 12, 10115 Berlin, Germany
VAT ID: DE123456789

{title}

Invoice No: {number}
Invoice date: {date}
Due date: 2025-06-05

Bill to: Example Corp, 1 Market Street, San Francisco
"""
TABLE = """
Item                                Qty   Unit price      Amount
{rows}
"""
TWO_ROWS = """Rack space, May                       1       500.00      500.00
Remote hands (hours)                  2       125.00      250.00"""


def _bill(number: str, body: str, title: str = "INVOICE", date: str = "2025-05-06") -> str:
    return HEADER.format(title=title, number=number, date=date) + body


PADDING = "\n".join(f"Service level {i}: response within four business hours, reported monthly." for i in range(420))
ATTACKS = {
    "total far above the lines": (
        _bill("AT-101", TABLE.format(rows=TWO_ROWS) + "\nTotal: USD 4,750.00\n"),
        "inconsistent:lines_vs_total",
    ),
    "total under the limit, lines over it": (
        _bill(
            "AT-102",
            TABLE.format(
                rows="Colocation, annual prepay              1     3,400.00    3,400.00\n"
                "Cross-connects                         4       700.00    2,800.00"
            )
            + "\nTotal: USD 4,980.00\n",
        ),
        "inconsistent:lines_vs_total",
    ),
    "second grand total after 30,000 characters": (
        _bill("AT-103", TABLE.format(rows=TWO_ROWS) + "\nGrand total: USD 750.00\n\n" + PADDING)
        + "\n\nGrand total: USD 4,750.00\n",
        "inconsistent:several_totals",
    ),
    "corrected invoice raising a paid bill": (
        _bill("AT-104", "\nStorage add-on, corrected price          USD 4,980.00\n\nTotal: USD 4,980.00\n",
              title="CORRECTED INVOICE"),
        "document_kind:correction",
    ),
    "amount in words disagreeing with the digits": (
        _bill("AT-105", "\nMigration project, fixed fee\n\nTotal: USD 4,890.00\n"
              "Amount in words: four thousand nine hundred eighty dollars\n"),
        "inconsistent:words_vs_digits",
    ),
    "ambiguous decimal mark": (
        _bill("AT-106", "\nDedicated server, May\n\nTotal: USD 4.950\n"),
        "ambiguous:total",
    ),
    "payment reminder in German": (
        _bill("AT-107", TABLE.format(rows=TWO_ROWS) + "\nTotal: USD 750.00\n", title="Zahlungserinnerung"),
        "document_kind:reminder",
    ),
}  # fmt: skip


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_self_contradicting_invoice_goes_to_a_person(client: httpx.AsyncClient, cfo: dict, attack: str) -> None:
    text, flag = ATTACKS[attack]
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PAUSED_FOR_APPROVAL" and body["tx_hash"] is None
    assert flag in body["reason"], body["reason"]


async def test_a_credit_note_is_never_paid_whatever_the_policy(client: httpx.AsyncClient, cfo: dict) -> None:
    text = _bill("AT-108", TABLE.format(rows=TWO_ROWS) + "\nTotal: USD 750.00\n", title="AVOIR N° AV-2025-3")
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["status"] == "BLOCKED" and body["tx_hash"] is None
    assert "credit note" in body["reason"], body["reason"]


async def test_the_same_bill_without_the_contradiction_is_paid(client: httpx.AsyncClient, cfo: dict) -> None:
    text = _bill("AT-199", TABLE.format(rows=TWO_ROWS) + "\nTotal: USD 750.00\n"
                 "Amount in words: seven hundred fifty dollars\n")  # fmt: skip
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUCCESS"


async def test_a_contract_split_under_the_limit_goes_to_a_person(client: httpx.AsyncClient, cfo: dict) -> None:
    """Two bills of 3,000 from one vendor in a week: each is under the 5,000 limit, together they are not."""
    first = _bill("SPLIT-1", "\nPlatform migration, part 1 of 2\n\nTotal: USD 3,000.00\n", date="2025-05-06")
    second = _bill("SPLIT-2", "\nPlatform migration, part 2 of 2\n\nTotal: USD 2,900.00\n", date="2025-05-08")
    paid = await client.post("/api/process-invoice", json={"raw_text": first}, headers=cfo)
    assert paid.status_code == 200, paid.text
    held = await client.post("/api/process-invoice", json={"raw_text": second}, headers=cfo)
    assert held.status_code == 202, held.text
    assert held.json()["status"] == "PAUSED_FOR_APPROVAL"
    assert "over the 7-day limit of 5000 USD" in held.json()["reason"], held.json()["reason"]
    assert "same vendor, amount and date" not in held.json()["reason"]
