"""The XML inside a Factur-X / ZUGFeRD / XRechnung PDF: found under its standard name, refused when broken or
doubled, and a plain PDF (or one carrying some other attachment) stays a plain PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from agents.extraction.einvoice.facturx import embedded_xml
from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.einvoice.read import einvoice_in_pdf
from tests.agents.extraction.einvoice.test_xml import BILLION_LAUGHS
from tests.fixtures.einvoices import cii_xml, facturx_pdf, ubl_xml
from tests.fixtures.pdfs import text_pdf

VISIBLE = "ACME Hosting GmbH\nInvoice No: EI-2025-0501\nTotal: USD 1,250.00\n"


def _with_attachments(*attachments: tuple[str, bytes]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(VISIBLE))))
    for name, data in attachments:
        writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_factur_x_library_s_pdf_carries_the_xml_we_read() -> None:
    xml = cii_xml()
    assert embedded_xml(facturx_pdf(VISIBLE, xml)) == xml
    assert einvoice_in_pdf(facturx_pdf(VISIBLE, xml)).number == "EI-2025-0501"


@pytest.mark.parametrize("name", ["factur-x.xml", "ZUGFeRD-invoice.xml", "zugferd-invoice.xml", "xrechnung.xml"])
def test_every_standard_name_is_found(name: str) -> None:
    assert einvoice_in_pdf(_with_attachments((name, ubl_xml()))).syntax == "UBL Invoice"


def test_a_plain_pdf_or_another_attachment_is_no_e_invoice() -> None:
    assert embedded_xml(text_pdf(VISIBLE)) is None
    assert einvoice_in_pdf(_with_attachments(("timesheet.xml", cii_xml()))) is None


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        pytest.param(b"<rsm:CrossIndustryInvoice", "not well-formed", id="malformed"),
        pytest.param(BILLION_LAUGHS, "declares a DTD", id="billion-laughs"),
        pytest.param(b"<note>pay me</note>", "root element is <note>", id="wrong-root"),
    ],
)
def test_a_broken_attached_xml_is_refused_not_read_as_a_plain_pdf(xml: bytes, message: str) -> None:
    with pytest.raises(InvalidEInvoice, match=f"attached e-invoice XML is invalid: .*{message}"):
        einvoice_in_pdf(_with_attachments(("factur-x.xml", xml)))


def test_two_e_invoices_in_one_pdf_are_refused() -> None:
    with pytest.raises(InvalidEInvoice, match="more than one e-invoice XML"):
        embedded_xml(_with_attachments(("factur-x.xml", cii_xml()), ("xrechnung.xml", ubl_xml())))
