"""The issuer, not any name on the page: invoices that name a registered vendor, print its IBAN or tax id, or
imitate its name with Greek or Cyrillic letters, through the whole API path (offline extractor, PostgreSQL,
anvil). None of them is paid; each waits for a person or is blocked, with the reason."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio

from agents.runtime import open_treasurer
from finance import vendor_changes
from finance.settings import Settings
from finance.vendors import VendorRepository
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.people import actor

# A vendor the company pays by bank details it registered: its tax id and IBAN are what an attacker copies.
HARBOUR = "Harbour Freight Logistics GmbH"
HARBOUR_WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
HARBOUR_TAX_ID = "DE 811 907 980"
HARBOUR_IBAN = "DE89 3704 0044 0532 0130 00"

NOT_PAID = {"PAUSED_FOR_APPROVAL", "BLOCKED"}


@pytest_asyncio.fixture
async def harbour(bootstrapped: Settings) -> Settings:
    async with open_treasurer(bootstrapped) as treasurer, treasurer.sessions.begin() as session:
        registrar = await actor(session, "registrar@example.com", "ops")
        verifier = await actor(session, "verifier@example.com", "ops")
        added = await VendorRepository(session).add(
            HARBOUR,
            HARBOUR_WALLET,
            registered_by=registrar,
            tax_id=HARBOUR_TAX_ID,
            known_accounts=[HARBOUR_IBAN],
        )
        await vendor_changes.verify(session, added.id, verifier)
    return bootstrapped


def _bill(issuer: str, number: str, *, bill_to: str = "Example Corp", notes: str = "", payment: str = "") -> str:
    return (
        f"{issuer}\n"
        "Kingsway 14, London WC2B 6UN\n"
        "VAT Reg. No. GB 293 8475 61\n\n"
        "INVOICE\n\n"
        f"Invoice No: {number}\n"
        "Invoice date: 2025-03-03\n"
        "Due date: 2025-04-02\n\n"
        f"Bill to: {bill_to}\n"
        "12 Market Street, Leeds LS1 6DT\n\n"
        "Consulting services, February      420.00\n\n"
        "Total: USD 420.00\n\n"
        f"{notes}\n{payment}\n"
    )


async def _submit(client: httpx.AsyncClient, cfo: dict, text: str) -> dict:
    response = await client.post("/api/process-invoice", json={"raw_text": text}, headers=cfo)
    assert response.status_code in (200, 202, 403), response.text
    body = response.json()
    assert body["status"] in NOT_PAID and body["tx_hash"] is None, body
    return body


@pytest.mark.parametrize(
    ("number", "bill_to", "notes"),
    [
        ("BR-101", "ACME Hosting GmbH", ""),
        ("BR-102", "Example Corp", "Please make all cheques payable to ACME Hosting GmbH."),
        ("BR-103", "Example Corp", "Notes: this invoice is issued by ACME Hosting GmbH on behalf of its partners."),
    ],
    ids=["registered-name-as-bill-to", "registered-name-as-payable-to", "registered-name-in-the-notes"],
)
async def test_a_registered_vendors_name_elsewhere_on_the_page_does_not_make_it_the_issuer(
    client: httpx.AsyncClient, cfo: dict, number: str, bill_to: str, notes: str
) -> None:
    body = await _submit(client, cfo, _bill("Brightside Consulting Ltd", number, bill_to=bill_to, notes=notes))
    assert "not in the registry" in body["reason"], body["reason"]


@pytest.mark.parametrize(
    ("number", "bill_to", "payment", "printed"),
    [
        ("BR-201", "Example Corp", f"Bank details: IBAN {HARBOUR_IBAN}", "account"),
        ("BR-202", f"Example Corp, c/o {HARBOUR}, USt-IdNr. {HARBOUR_TAX_ID}", "", "tax id"),
        ("BR-203", "Example Corp", f"Our partner's VAT id: {HARBOUR_TAX_ID}\nIBAN {HARBOUR_IBAN}", "tax id"),
    ],
    ids=["its-iban-as-payee", "its-tax-id-in-the-bill-to-block", "its-tax-id-and-iban-in-the-footer"],
)
async def test_a_registered_vendors_iban_or_tax_id_on_another_issuers_invoice_is_not_that_vendors_bill(
    client: httpx.AsyncClient, harbour: Settings, cfo: dict, number: str, bill_to: str, payment: str, printed: str
) -> None:
    body = await _submit(client, cfo, _bill("Brightside Consulting Ltd", number, bill_to=bill_to, payment=payment))
    assert "not in the registry" in body["reason"], body["reason"]
    # Why the registered vendor was not taken is in the trail: its details on the page, under another issuer.
    invoice = (await client.get(f"/api/invoices/{body['invoice_id']}", headers=cfo)).json()
    extracted = next(d["reason"] for d in invoice["decisions"] if d["step"] == "extract")
    assert f"not as registered vendor {HARBOUR}" in extracted and printed in extracted, extracted


@pytest.mark.parametrize(
    ("number", "issuer", "script"),
    [
        ("HB-901", "\u0391CME Hosting GmbH", "Greek"),  # a Greek capital Alpha for the Latin A
        ("HB-902", "AC\u041cE Hosting GmbH", "Cyrillic"),  # a Cyrillic capital Em for the Latin M
        ("HB-903", "ACME H\u043esting GmbH", "Cyrillic"),  # a Cyrillic small o
    ],
    ids=["greek-alpha", "cyrillic-em", "cyrillic-o"],
)
async def test_a_look_alike_of_a_registered_vendors_name_goes_to_a_person(
    client: httpx.AsyncClient, cfo: dict, number: str, issuer: str, script: str
) -> None:
    body = await _submit(client, cfo, _bill(issuer, number))
    reason = body["reason"]
    assert "confusable:vendor" in reason and f"{script} and Latin letters" in reason, reason
    assert "reads like registered vendor ACME Hosting GmbH" in reason, reason


async def test_invisible_characters_in_the_issuers_name_go_to_a_person(client: httpx.AsyncClient, cfo: dict) -> None:
    body = await _submit(client, cfo, _bill("ACME\u200b Hosting GmbH", "HB-904"))
    assert "confusable:vendor" in body["reason"] and "U+200B" in body["reason"], body["reason"]


def _model_says(vendor: str, number: str, payee: str | None = None) -> dict:
    return {
        "vendor": vendor,
        "invoice_number": number,
        "issue_date": "2025-03-03",
        "total": "420.00",
        "currency": "USD",
        "payee_account": payee,
        "line_items": [],
    }


@pytest.mark.parametrize(
    ("number", "page", "claimed", "payee"),
    [
        ("BR-301", {"bill_to": "ACME Hosting GmbH"}, "ACME Hosting GmbH", None),
        ("BR-302", {"notes": "Please make all cheques payable to ACME Hosting GmbH."}, "ACME Hosting GmbH", None),
        (
            "BR-303",
            {"bill_to": f"Example Corp, c/o {HARBOUR}", "payment": f"IBAN {HARBOUR_IBAN}"},
            HARBOUR,
            HARBOUR_IBAN.replace(" ", ""),
        ),
    ],
    ids=["model-names-the-bill-to", "model-names-the-payable-to", "model-names-the-vendor-whose-iban-is-printed"],
)
async def test_a_model_that_names_a_registered_vendor_printed_elsewhere_is_overruled(
    read_by_model: httpx.AsyncClient,
    openai_server: FakeOpenAI,
    harbour: Settings,
    cfo: dict,
    number: str,
    page: dict,
    claimed: str,
    payee: str | None,
) -> None:
    # Every value the model reports is printed on the page, so it passes the grounding; the issuer it names is
    # not the one the page's letterhead shows, and the offline reading of the issuer disagrees.
    openai_server.reply_structured(_model_says(claimed, number, payee))
    body = await _submit(read_by_model, cfo, _bill("Brightside Consulting Ltd", number, **page))
    assert "disagreement:vendor" in body["reason"] or "not in the registry" in body["reason"], body["reason"]
    assert len(openai_server.requests) == 1


async def test_a_model_that_reads_a_look_alike_as_the_registered_name_is_overruled(
    read_by_model: httpx.AsyncClient, openai_server: FakeOpenAI, cfo: dict
) -> None:
    # The page's issuer has a Greek capital Alpha; the model "helpfully" reports the Latin name.
    openai_server.reply_structured(_model_says("ACME Hosting GmbH", "HB-905"))
    body = await _submit(read_by_model, cfo, _bill("\u0391CME Hosting GmbH", "HB-905"))
    # The Latin name is not printed, so the model's vendor is dropped as ungrounded: no registered vendor is read.
    assert body["status"] == "BLOCKED" and "not in the registry" in body["reason"], body
