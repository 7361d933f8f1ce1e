"""Invoice text from uploaded documents: real PDFs built with fpdf2, read back with pypdf, fed to the extractor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agents.extraction.offline import extract_offline
from agents.extraction.pdf import (
    MAX_PDF_PAGES,
    MAX_UPLOAD_BYTES,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedPdf,
    NoTextLayer,
    UnreadableDocument,
    invoice_text_from_pdf,
    invoice_text_from_upload,
)
from finance.errors import InvalidInvoice
from tests.fixtures.pdfs import SampleInvoice, encrypted_pdf, invoice_pdf, pages_pdf, scanned_pdf, text_pdf

SAMPLES = Path(__file__).resolve().parents[3] / "api" / "samples"
# Deterministic junk: random bytes could, once in a blue moon, decode as UTF-8.
GARBAGE = bytes(range(128, 256)) * 16


# --- text PDFs --------------------------------------------------------------------------------------------------


def test_multi_page_invoice_reads_into_the_right_fields() -> None:
    invoice = SampleInvoice()
    text = invoice_text_from_pdf(invoice_pdf(invoice))

    fields = extract_offline(text)

    assert fields.vendor == invoice.vendor
    assert fields.invoice_number == invoice.invoice_number
    assert fields.issue_date == invoice.issue_date
    assert fields.due_date == invoice.due_date
    assert fields.total == invoice.total == Decimal("4797.00")
    assert fields.currency == "EUR"
    assert fields.payee_account == invoice.iban.replace(" ", "")


def test_pages_end_with_form_feeds_like_pdftotext() -> None:
    text = invoice_text_from_pdf(invoice_pdf())

    pages = text.split("\f")
    # Two pages, each ended by "\n\f": the last split part is the empty rest after the final form feed.
    assert len(pages) == 3 and pages[-1] == ""
    assert all(page.endswith("\n") for page in pages[:-1])
    assert "Invoice No:" in pages[0] and "Total: EUR 4,797.00" in pages[1]
    assert "Total:" not in pages[0]


def test_layout_mode_keeps_table_columns_apart() -> None:
    # Plain extraction glues cells with single spaces and the line-item table is lost; layout mode is why not.
    invoice = SampleInvoice()
    fields = extract_offline(invoice_text_from_pdf(invoice_pdf(invoice)))

    got = [(item.description, item.quantity, item.amount) for item in fields.line_items]
    assert got == [(d, str(q), f"{q * p:.2f}") for d, q, p in invoice.items]


def test_a_printed_text_invoice_reads_like_its_text() -> None:
    text = (SAMPLES / "01-acme-hosting.txt").read_text(encoding="utf-8")

    from_pdf = extract_offline(invoice_text_from_pdf(text_pdf(text)))
    from_text = extract_offline(text)

    assert from_pdf.model_dump(exclude={"evidence"}) == from_text.model_dump(exclude={"evidence"})
    assert (from_pdf.vendor, from_pdf.invoice_number, from_pdf.total, from_pdf.currency) == (
        "ACME Hosting GmbH",
        "INV-2024-001",
        Decimal("1250.00"),
        "USD",
    )


def test_owner_password_only_pdf_opens_without_a_password() -> None:
    # Owner-only encryption restricts editing, not reading: every viewer opens it, so must we.
    text = invoice_text_from_pdf(encrypted_pdf("Invoice No: INV-77", user_password=None))

    assert "Invoice No: INV-77" in text


def test_the_page_cap_is_inclusive() -> None:
    text = invoice_text_from_pdf(pages_pdf(MAX_PDF_PAGES))

    assert text.count("\f") == MAX_PDF_PAGES


# --- refused PDFs -----------------------------------------------------------------------------------------------


def test_a_scan_without_text_layer_is_refused_with_advice() -> None:
    with pytest.raises(NoTextLayer) as caught:
        invoice_text_from_pdf(scanned_pdf())

    assert caught.value.message == "this PDF has no text layer (a scan?); send a text PDF or the invoice's text"
    assert isinstance(caught.value, InvalidInvoice) and caught.value.status_code == 422


def test_a_password_protected_pdf_is_refused() -> None:
    with pytest.raises(EncryptedPdf, match="encrypted with a password"):
        invoice_text_from_pdf(encrypted_pdf(user_password="secret"))


def test_bytes_that_are_not_a_pdf_are_refused() -> None:
    with pytest.raises(UnreadableDocument, match=r"not a PDF \(no %PDF- header\)"):
        invoice_text_from_pdf(GARBAGE)


def test_a_damaged_pdf_is_refused() -> None:
    with pytest.raises(UnreadableDocument, match="damaged"):
        invoice_text_from_pdf(b"%PDF-1.7\n" + GARBAGE)


def test_too_many_pages_are_refused() -> None:
    with pytest.raises(DocumentTooLarge, match=f"{MAX_PDF_PAGES + 1} pages; an invoice may have at most"):
        invoice_text_from_pdf(pages_pdf(MAX_PDF_PAGES + 1))


def test_too_many_bytes_are_refused_before_parsing() -> None:
    oversized = b"%PDF-1.7\n" + b"0" * MAX_UPLOAD_BYTES

    with pytest.raises(DocumentTooLarge, match="at most 10 MB"):
        invoice_text_from_pdf(oversized)
    with pytest.raises(DocumentTooLarge):
        invoice_text_from_upload(oversized, "invoice.pdf", "application/pdf")


# --- upload routing ---------------------------------------------------------------------------------------------


def test_a_pdf_is_recognised_by_its_bytes_not_its_name() -> None:
    data = invoice_pdf()

    text = invoice_text_from_upload(data, "invoice.txt", "text/plain")

    assert text == invoice_text_from_pdf(data)


def test_text_is_taken_as_it_is() -> None:
    raw = (SAMPLES / "01-acme-hosting.txt").read_bytes()

    assert invoice_text_from_upload(raw, "01-acme-hosting.txt", "text/plain") == raw.decode("utf-8")


def test_text_named_pdf_is_still_read_as_text() -> None:
    assert invoice_text_from_upload(b"Invoice No: 42\nTotal: EUR 10.00\n", "scan.pdf", None).startswith("Invoice No")


def test_text_is_normalised_bom_and_line_endings() -> None:
    text = invoice_text_from_upload("\ufeffInvoice No: 42\r\nTotal: 10 €\r\n".encode(), None, None)

    assert text == "Invoice No: 42\nTotal: 10 €\n"


@pytest.mark.parametrize(
    ("filename", "content_type"), [("invoice.PDF", None), (None, "application/pdf; charset=binary")]
)
def test_garbage_claiming_to_be_a_pdf_says_so(filename: str | None, content_type: str | None) -> None:
    with pytest.raises(UnreadableDocument, match="named or declared as a PDF but is not one"):
        invoice_text_from_upload(GARBAGE, filename, content_type)


def test_non_utf8_text_is_refused() -> None:
    with pytest.raises(UnreadableDocument, match="neither a PDF nor UTF-8 text"):
        invoice_text_from_upload("Rechnung Müller GmbH".encode("latin-1"), "invoice.txt", "text/plain")


def test_binary_that_happens_to_be_utf8_is_refused() -> None:
    with pytest.raises(UnreadableDocument, match="binary file"):
        invoice_text_from_upload(b"PK\x03\x04\x14\x00\x00\x00invoice.xml\x00\x00", "invoice.zip", None)


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n", "\ufeff".encode()])
def test_an_empty_upload_is_refused(data: bytes) -> None:
    with pytest.raises(EmptyDocument, match="empty"):
        invoice_text_from_upload(data, None, None)
