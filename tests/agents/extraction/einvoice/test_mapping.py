"""CII (Factur-X, XRechnung) and UBL (Peppol BIS 3.0) e-invoices read into the same exact values; one lacking a
value we pay on, or giving one in a form that is not a number or a date, is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.einvoice.read import einvoice_from_bytes
from tests.fixtures.einvoices import Bill, cii_xml, ubl_xml

XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BILL = Bill(
    seller="Rheinwerk Cloud GmbH",
    number="RW/2025/0042",
    issued="2025-04-30",
    due="2025-05-30",
    currency="EUR",
    iban="DE02 1203 0000 0000 2020 51",
    lines=(
        ("Kubernetes cluster, April", Decimal("1"), Decimal("800.00")),
        ("Egress (TB)", Decimal("3"), Decimal("40.00")),
    ),
    vat_rate=Decimal("19"),
    prepaid=Decimal("100.00"),
)


@pytest.mark.parametrize(
    ("xml", "syntax"),
    [
        pytest.param(cii_xml(BILL), "CII", id="factur-x-en16931"),
        pytest.param(cii_xml(BILL, guideline=XRECHNUNG), "CII", id="xrechnung-cii"),
        pytest.param(ubl_xml(BILL), "UBL Invoice", id="peppol-ubl"),
    ],
)
def test_each_syntax_reads_to_the_same_values(xml: bytes, syntax: str) -> None:
    einvoice = einvoice_from_bytes(xml)
    assert einvoice.syntax == syntax
    assert (einvoice.seller, einvoice.number, einvoice.issue_date, einvoice.due_date, einvoice.currency) == (
        "Rheinwerk Cloud GmbH", "RW/2025/0042", "2025-04-30", "2025-05-30", "EUR",
    )  # fmt: skip
    assert einvoice.type_code == "380" and einvoice.seller_vat == "DE123456789" and einvoice.buyer == "Example Corp"
    assert einvoice.accounts == ("DE02120300000000202051",)
    # 920.00 net + 19% VAT = 1,094.80; 100.00 was prepaid, so 994.80 is due: that is what we pay.
    assert einvoice.grand_total == Decimal("1094.80") and einvoice.payable == Decimal("994.80")
    assert [(line.description, line.quantity, line.unit_price, line.amount) for line in einvoice.lines] == [
        ("Kubernetes cluster, April", "1", "800.00", "800.00"),
        ("Egress (TB)", "3", "40.00", "120.00"),
    ]


def test_a_ubl_credit_note_keeps_its_type() -> None:
    einvoice = einvoice_from_bytes(ubl_xml(credit_note=True))
    assert einvoice.syntax == "UBL CreditNote" and einvoice.type_code == "381" and einvoice.due_date is None


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        pytest.param(
            cii_xml().replace(b"<ram:DuePayableAmount>1250.00</ram:DuePayableAmount>", b""),
            r"lacks required values: amount due \(BT-115\)",
            id="cii-without-amount-due",
        ),
        pytest.param(
            ubl_xml()
            .replace(b"<cbc:TaxInclusiveAmount", b"<cbc:Ignored")
            .replace(b"</cbc:TaxInclusiveAmount>", b"</cbc:Ignored>"),
            r"grand total \(BT-112\)",
            id="ubl-without-grand-total",
        ),
        pytest.param(
            cii_xml().replace(b"<ram:Name>ACME Hosting GmbH</ram:Name>", b""),
            r"seller name \(BT-27\)",
            id="no-seller",
        ),
        pytest.param(
            ubl_xml().replace(b">1250.00</cbc:PayableAmount>", b">1.250,00</cbc:PayableAmount>"),
            r"amount due \(BT-115\) '1.250,00' is not a decimal number",
            id="comma-decimal",
        ),
        pytest.param(
            cii_xml().replace(b'format="102">20250506', b'format="102">2025-05-06'),
            "cannot be read",
            id="bad-date",
        ),
        pytest.param(
            cii_xml().replace(b"<ram:InvoiceCurrencyCode>USD", b"<ram:InvoiceCurrencyCode>Dollars"),
            "not an ISO 4217 code",
            id="bad-currency",
        ),
        pytest.param(
            cii_xml().replace(
                b"<ram:DuePayableAmount>1250.00</ram:DuePayableAmount>",
                b"<ram:DuePayableAmount>1250.00</ram:DuePayableAmount><ram:DuePayableAmount>12.50</ram:DuePayableAmount>",
            ),
            "BT-115 twice with different values",
            id="two-amounts-due",
        ),
    ],
)
def test_missing_or_malformed_values_are_refused(xml: bytes, message: str) -> None:
    with pytest.raises(InvalidEInvoice, match=message):
        einvoice_from_bytes(xml)
