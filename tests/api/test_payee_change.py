"""Payout details on an invoice that the registry does not hold go to a person, through the whole API path
(offline extractor, PostgreSQL, anvil): an unregistered IBAN, one hidden behind invisible characters or wrapped
over two lines, a split wallet address, and an "old account closed, new one below" page."""

from __future__ import annotations

import httpx
import pytest

ACME_WALLET = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"  # registered for ACME Hosting in api/samples
STRANGER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def _bill(number: str, payment_lines: str) -> str:
    return (
        "ACME Hosting GmbH\n"
        "Lindenallee 7, 20095 Hamburg\n\n"
        "INVOICE\n\n"
        f"Invoice No: {number}\n"
        "Invoice date: 2025-02-03\n"
        "Due date: 2025-03-05\n\n"
        "Bill to: Example Corp\n\n"
        "Dedicated server rental, February      310.00\n\n"
        "Total: USD 310.00\n\n"
        f"{payment_lines}\n"
    )


PAYEE_CHANGES = [
    pytest.param(
        "HB-501",
        "Please transfer to our bank account\nIBAN: CH93 0076 2011 6238 5295 7",
        ["CH9300762011623852957", "no bank account is registered"],
        id="unregistered-iban",
    ),
    pytest.param(
        "HB-502",
        "Remit to IBAN: \u202dGB82 WEST\u200b1234 5698 7654 32\u202c",
        ["GB82WEST12345698765432", "invisible"],
        id="iban-behind-bidi-and-zero-width",
    ),
    pytest.param(
        "HB-503",
        f"Wallet for USDC payments: \u2066{ACME_WALLET}\u2069",
        ["invisible"],
        id="registered-wallet-inside-bidi-isolate",
    ),
    pytest.param(
        "HB-504",
        "Bank details: IBAN NL91 ABNA\n              0417 1643 00",
        ["NL91ABNA0417164300"],
        id="iban-wrapped-over-two-lines",
    ),
    pytest.param(
        "HB-505",
        f"Pay in USDC to {STRANGER[:22]}\n{STRANGER[22:32]} {STRANGER[32:]}",
        [STRANGER, "not the registered"],
        id="wallet-split-over-a-line-break-and-a-space",
    ),
    pytest.param(
        "HB-506",
        f"Our previous wallet {ACME_WALLET} is closed.\nFrom now on please pay to {STRANGER}",
        ["2 different payout accounts", STRANGER],
        id="old-wallet-closed-beside-a-new-one",
    ),
    pytest.param(
        "HB-507",
        f"Wallet: {ACME_WALLET[:12]}\u200b{ACME_WALLET[12:]}\nOr by bank: BE68 5390 0754 7034",
        ["BE68539007547034", "2 different payout accounts"],
        id="wallet-and-an-unregistered-iban",
    ),
]


@pytest.mark.parametrize(("number", "payment_lines", "reasons"), PAYEE_CHANGES)
async def test_payee_change_waits_for_approval(
    client: httpx.AsyncClient, cfo: dict, number: str, payment_lines: str, reasons: list[str]
) -> None:
    response = await client.post("/api/process-invoice", json={"raw_text": _bill(number, payment_lines)}, headers=cfo)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PAUSED_FOR_APPROVAL" and body["tx_hash"] is None
    for reason in reasons:
        assert reason in body["reason"], body["reason"]


@pytest.mark.parametrize(
    ("number", "payment_lines"),
    [("HB-601", "Thank you for your business."), ("HB-602", f"Wallet for USDC payments: {ACME_WALLET}")],
    ids=["no-payout-details", "the-registered-wallet"],
)
async def test_an_invoice_with_the_registered_details_is_paid(
    client: httpx.AsyncClient, cfo: dict, number: str, payment_lines: str
) -> None:
    response = await client.post("/api/process-invoice", json={"raw_text": _bill(number, payment_lines)}, headers=cfo)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUCCESS"
