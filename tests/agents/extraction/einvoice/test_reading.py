"""An e-invoice through the one upload door and the extractor: the XML's values are the fields (engine
"einvoice"), a Factur-X PDF's visible text is checked against them, and no language model can override them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.service import ExtractionResult, InvoiceExtractor
from agents.extraction.uploads import ReadDocument, TextSource, read_upload
from finance.settings import Settings
from tests.fixtures.einvoices import Bill, cii_xml, facturx_pdf, ubl_xml
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.pdfs import scanned_pdf, text_pdf

PAGE = """\
ACME Hosting GmbH
Hauptstrasse 12, 10115 Berlin, Germany
VAT ID: DE123456789

INVOICE

Invoice No: {number}
Invoice date: 2025-05-06
Due date: 2025-06-05

Bill to: Example Corp, 1 Market Street, San Francisco

Description                         Qty   Unit price      Amount
Managed hosting, May 2025             1     1,000.00    1,000.00
Backup storage (500 GB)               1       250.00      250.00

Total: USD {total}
{payment}"""


def page(number: str = "EI-2025-0501", total: str = "1,250.00", payment: str = "") -> str:
    return PAGE.format(number=number, total=total, payment=payment)


async def _extract(read: ReadDocument, settings: Settings | None = None) -> ExtractionResult:
    extractor = InvoiceExtractor(settings or Settings(_env_file=None, environment="dev", llm_model=None))
    try:
        return await extractor.extract(read.text, text_source=read.source, document=read.document)
    finally:
        await extractor.aclose()


@pytest.mark.parametrize("xml", [cii_xml(), ubl_xml()], ids=["cii", "ubl"])
async def test_an_xml_upload_is_rendered_for_people_and_read_exactly(xml: bytes) -> None:
    read = read_upload(xml, "invoice.xml", "application/xml")
    assert (read.source, read.document, read.document_type) == (TextSource.EINVOICE, xml, "application/xml")
    for printed in ("Seller: ACME Hosting GmbH", "Invoice No: EI-2025-0501", "Amount due: USD 1,250.00",
                    "Managed hosting, May 2025", "DE89 3704 0044 0532 0130 00"):  # fmt: skip
        assert printed in read.text
    result = await _extract(read)
    assert result.engine == "einvoice" and result.trusted, result.flags
    fields = result.fields
    assert (fields.vendor, fields.invoice_number, fields.total, fields.currency, fields.payee_account) == (
        "ACME Hosting GmbH", "EI-2025-0501", Decimal("1250.00"), "USD", "DE89370400440532013000",
    )  # fmt: skip
    assert len(fields.line_items) == 2
    start, end = fields.evidence["total"].span
    assert read.text[start:end].endswith("1,250.00") and fields.evidence["total"].confidence == 1.0


def test_a_factur_x_pdf_is_an_e_invoice_and_a_plain_pdf_is_not() -> None:
    read = read_upload(facturx_pdf(page(), cii_xml()))
    assert read.source == TextSource.EINVOICE and read.document_type == "application/pdf"
    assert "Invoice No: EI-2025-0501" in read.text  # the visible text layer, as a person reads it
    assert read_upload(text_pdf(page())).source == TextSource.PDF


def test_a_factur_x_pdf_without_a_text_layer_shows_its_xml() -> None:
    from facturx import generate_from_binary

    read = read_upload(generate_from_binary(scanned_pdf(), cii_xml()))
    assert read.source == TextSource.EINVOICE and "Amount due: USD 1,250.00" in read.text


def test_invalid_xml_uploads_are_refused_before_anything_is_read() -> None:
    with pytest.raises(InvalidEInvoice, match="not well-formed"):
        read_upload(b"<?xml version='1.0'?><Invoice>", "invoice.xml", "application/xml")


async def test_an_honest_factur_x_pdf_raises_no_flag() -> None:
    payment = "Please pay to IBAN DE89 3704 0044 0532 0130 00\n"
    result = await _extract(read_upload(facturx_pdf(page(payment=payment), cii_xml())))
    assert result.engine == "einvoice" and result.trusted, result.flags
    assert result.fields.evidence["total"].span is not None


@pytest.mark.parametrize(
    ("visible", "bill", "flag"),
    [
        pytest.param(page(total="4,950.00"), Bill(), "einvoice_mismatch:total", id="visible-total-above-the-xml"),
        pytest.param(
            page(payment="IBAN: CH93 0076 2011 6238 5295 7\n"), Bill(), "einvoice_mismatch:payee_account", id="iban"
        ),
        pytest.param(page(number="EI-2025-0777"), Bill(), "einvoice_mismatch:invoice_number", id="number"),
        pytest.param(
            page().replace("ACME Hosting GmbH", "Globex Corporation"), Bill(), "einvoice_mismatch:vendor", id="vendor"
        ),  # fmt: skip
        pytest.param(page().replace("2025-05-06", "2025-04-06"), Bill(), "einvoice_mismatch:issue_date", id="date"),
        pytest.param(page().replace("USD", "EUR"), Bill(), "einvoice_mismatch:currency", id="currency"),
    ],
)
async def test_a_visible_text_that_disagrees_with_the_xml_is_flagged(visible: str, bill: Bill, flag: str) -> None:
    result = await _extract(read_upload(facturx_pdf(visible, cii_xml(bill))))
    assert not result.trusted and any(f.startswith(flag) for f in result.flags), result.flags
    # The XML's values stand: the flag sends the bill to a person, who sees what each reading said.
    assert result.fields.total == Decimal("1250.00") and result.fields.invoice_number == "EI-2025-0501"


async def test_a_value_the_visible_text_lacks_is_no_mismatch() -> None:
    # The page prints no IBAN and no due date; the XML has both.
    visible = page().replace("Due date: 2025-06-05\n", "")
    result = await _extract(read_upload(facturx_pdf(visible, cii_xml())))
    assert result.trusted, result.flags
    assert result.fields.payee_account == "DE89370400440532013000" and result.fields.due_date == "2025-06-05"
    assert result.fields.evidence["payee_account"].span is None


async def test_the_page_calling_itself_a_credit_note_is_flagged_over_an_invoice_xml() -> None:
    result = await _extract(read_upload(facturx_pdf(page().replace("INVOICE", "CREDIT NOTE"), cii_xml())))
    assert any(f.startswith("document_kind:credit_note") for f in result.flags), result.flags


async def test_a_lost_document_falls_back_to_the_text_flagged() -> None:
    result = await _extract(ReadDocument(page(), TextSource.EINVOICE, None, "application/pdf"))
    assert result.engine == "offline" and result.flags[0].startswith("einvoice_unreadable:")


async def test_a_lying_model_is_never_asked(openai_server: FakeOpenAI, llm_settings: Callable[..., Settings]) -> None:
    openai_server.reply_structured(
        {
            "vendor": "ACME Hosting GmbH",
            "invoice_number": "EI-2025-0501",
            "total": "49.50",
            "currency": "USD",
            "payee_account": "CH9300762011623852957",
            "line_items": [],
        }  # fmt: skip
    )
    result = await _extract(read_upload(facturx_pdf(page(), cii_xml())), llm_settings(llm_max_attempts=1))
    assert result.engine == "einvoice" and result.trusted, result.flags
    assert result.fields.total == Decimal("1250.00") and result.fields.payee_account == "DE89370400440532013000"
    assert openai_server.requests == []
