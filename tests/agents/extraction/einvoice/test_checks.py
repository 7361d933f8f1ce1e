"""What an e-invoice says about itself: a credit note or a corrected invoice by its type code, totals that do not
follow EN 16931's arithmetic, several accounts to pay to. Each is a flag that keeps the bill from being paid
unattended."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.extraction.einvoice.checks import einvoice_flags
from agents.extraction.einvoice.read import einvoice_from_bytes
from tests.fixtures.einvoices import Bill, cii_xml, ubl_xml


def test_an_honest_invoice_raises_no_flag() -> None:
    assert einvoice_flags(einvoice_from_bytes(cii_xml(Bill(vat_rate=Decimal("19"), prepaid=Decimal("50"))))) == []


@pytest.mark.parametrize(
    ("xml", "kind"),
    [
        pytest.param(ubl_xml(credit_note=True), "credit_note", id="ubl-creditnote-root"),
        pytest.param(cii_xml(Bill(type_code="381")), "credit_note", id="cii-381"),
        pytest.param(ubl_xml(Bill(type_code="261")), "credit_note", id="self-billed-credit-note-in-an-invoice-root"),
        pytest.param(cii_xml(Bill(type_code="384")), "correction", id="corrected-invoice"),
    ],
)
def test_the_type_code_names_the_document_kind(xml: bytes, kind: str) -> None:
    flags = einvoice_flags(einvoice_from_bytes(xml))
    assert [flag.split(":")[1] for flag in flags if flag.startswith("document_kind:")] == [kind]


def test_lines_that_do_not_add_up_are_flagged() -> None:
    flags = einvoice_flags(einvoice_from_bytes(ubl_xml(Bill(line_total_override=Decimal("4950.00")))))
    assert flags == [
        "inconsistent:lines_vs_total: the e-invoice's line net amounts sum to 1,250.00 but it states their sum "
        "(BT-106) as 4,950.00"
    ]


def test_an_amount_due_that_does_not_follow_from_the_grand_total_is_flagged() -> None:
    flags = einvoice_flags(einvoice_from_bytes(cii_xml(Bill(payable_override=Decimal("4950.00")))))
    assert len(flags) == 1 and flags[0].startswith("inconsistent:einvoice_totals: the e-invoice's amount due")
    assert "(BR-CO-16)" in flags[0]


def test_several_accounts_are_a_persons_call() -> None:
    xml = cii_xml().replace(
        b"</ram:SpecifiedTradeSettlementPaymentMeans>",
        b"</ram:SpecifiedTradeSettlementPaymentMeans><ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58"
        b"</ram:TypeCode><ram:PayeePartyCreditorFinancialAccount><ram:IBANID>CH9300762011623852957</ram:IBANID>"
        b"</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>",
    )
    flags = einvoice_flags(einvoice_from_bytes(xml))
    assert flags and flags[0].startswith("ambiguous:payee_account: the e-invoice names 2 accounts")
