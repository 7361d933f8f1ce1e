"""Scans read by OCR: a dev invoice rendered to an image (PNG, JPEG, TIFF, a scanned PDF) reads back through the
offline extractor; a misread or hidden value is doubted; hostile or blank images are refused with a clear message.

These run Debian's tesseract (eng, deu, fra, nld, pol): 2 to 6 s a page on one core.
"""

from __future__ import annotations

from decimal import Decimal

import pytesseract
import pytest
from PIL import Image, ImageDraw

from agents.extraction import ocr
from agents.extraction.ocr import OcrUnavailable, Word
from agents.extraction.ocr_confidence import is_doubtful, uncertain_fields
from agents.extraction.offline import extract_offline
from agents.extraction.pdf import DocumentTooLarge, EmptyDocument
from agents.extraction.schemas import FieldEvidence, InvoiceFields
from agents.extraction.uploads import ReadDocument, TextSource, read_upload
from api.demo import sample_invoices
from tests.fixtures.scans import (
    LINE_PX,
    MARGIN,
    blank_page,
    blurred,
    bomb_png,
    dev_invoice,
    encoded,
    font,
    line_box,
    render,
    scanned_pdf_of,
)

DEV = dev_invoice("zf-mustang-en")  # English, an IBAN, a slashed invoice number and a table of items
ACME = dict(sample_invoices())["01-acme-hosting.txt"]


@pytest.fixture(scope="module")
def dev_scan() -> Image.Image:
    return render(DEV["text"])


@pytest.fixture(scope="module")
def png_read(dev_scan: Image.Image) -> ReadDocument:
    return read_upload(encoded(dev_scan))


def _assert_key_fields(read: ReadDocument) -> None:
    fields = extract_offline(read.text)
    expected = DEV["expected"]
    assert fields.invoice_number == expected["invoice_number"]
    assert fields.total == Decimal(expected["total"])
    assert fields.currency == expected["currency"]
    assert fields.issue_date == expected["issue_date"]
    assert fields.payee_account == expected["payee_account"]
    # Clean print: nothing a payment depends on was read off a doubtful word.
    assert uncertain_fields(fields, read.doubtful_spans) == []


def test_a_rendered_dev_invoice_reads_back(png_read: ReadDocument) -> None:
    assert png_read.source == TextSource.OCR and png_read.document_type == "image/png"
    _assert_key_fields(png_read)


def test_ocr_text_is_laid_out_like_pdftotext(png_read: ReadDocument) -> None:
    # Columns apart by runs of spaces, a phrase's words one space apart, every page ended by a form feed.
    assert png_read.text.endswith("\n\f")
    row = next(line for line in png_read.text.split("\n") if "Ballons" in line)
    assert "400.00" in row and "316.00" in row
    assert "    " in row.split("Ballons")[1] and "Ballons: various colors," in row
    assert next(line for line in png_read.text.split("\n") if "Due payable" in line).strip() == "Due payable: 571.04 €"


@pytest.mark.parametrize("kind", ["jpeg", "tiff", "pdf"])
def test_the_same_invoice_as_jpeg_tiff_or_scanned_pdf(dev_scan: Image.Image, kind: str) -> None:
    data = {
        "jpeg": lambda: encoded(dev_scan, "JPEG", quality=75),
        "tiff": lambda: encoded(dev_scan, "TIFF", compression="tiff_lzw"),
        "pdf": lambda: scanned_pdf_of(dev_scan),
    }[kind]()
    read = read_upload(data)
    assert read.source == TextSource.OCR and read.document == data
    assert read.document_type == {"jpeg": "image/jpeg", "tiff": "image/tiff", "pdf": "application/pdf"}[kind]
    _assert_key_fields(read)


def test_text_on_a_transparent_background_is_read_on_white() -> None:
    # Black text whose background is transparent black: dropping the alpha channel would leave a black page.
    ink = render("Invoice No: INV-2024-001")
    transparent = Image.new("RGBA", ink.size, (0, 0, 0, 0))
    transparent.putalpha(Image.eval(ink, lambda level: 255 - level))
    assert "INV-2024-001" in read_upload(encoded(transparent)).text


def test_a_smudged_total_read_confidently_short_is_doubted() -> None:
    # All but its first digit blurred hard, "1,250.00" is read as "1" at 96% confidence: the unread ink beside
    # it gives it away.
    image = blurred(render(ACME), line_box(ACME, "Total:", column=12), radius=2.5)
    read = read_upload(encoded(image))
    fields = extract_offline(read.text)
    assert fields.total == Decimal("1")
    assert "ocr_uncertain:total" in uncertain_fields(fields, read.doubtful_spans)


def test_a_total_in_small_print_is_doubted() -> None:
    # A forger's trick: the amount a person would not look at twice, in print 0.6 times the size of the rest.
    text = ACME.replace("Total: USD 1,250.00", "Total: USD")
    image = render(text)
    number = text.split("\n").index("Total: USD")
    x = MARGIN + int(font().getlength("Total: USD "))
    ImageDraw.Draw(image).text((x, MARGIN + number * LINE_PX + 5), "1,250.00", font=font(12), fill=0)
    read = read_upload(encoded(image))
    fields = extract_offline(read.text)
    assert fields.total == Decimal("1250.00")  # read right, and still doubted: the size is the warning
    assert uncertain_fields(fields, read.doubtful_spans) == ["ocr_uncertain:total"]


def test_a_decompression_bomb_is_refused_unread() -> None:
    with pytest.raises(DocumentTooLarge, match="too many pixels") as caught:
        read_upload(bomb_png())
    assert caught.value.status_code == 422


def test_a_tiff_of_many_pages_is_refused() -> None:
    page = Image.new("L", (50, 50), 255)
    data = encoded(page, "TIFF", save_all=True, append_images=[page] * 11)
    with pytest.raises(DocumentTooLarge, match="12 pages"):
        read_upload(data)


def test_a_blank_scan_is_refused_with_advice() -> None:
    with pytest.raises(EmptyDocument, match="no text could be read from this scan") as caught:
        read_upload(encoded(blank_page()))
    assert caught.value.status_code == 422


def test_without_tesseract_the_operator_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(OcrUnavailable, match="tesseract-ocr") as caught:
        read_upload(encoded(render("Invoice No: 1")))
    assert caught.value.status_code == 503


def test_a_missing_language_is_an_operator_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "OCR_LANGUAGES", "eng+xyz")
    with pytest.raises(OcrUnavailable, match="lacks a language"):
        read_upload(encoded(render("Invoice No: 1")))


def _word(text: str, **changes: object) -> Word:
    values: dict = dict(left=0, top=0, width=12 * len(text), height=15, confidence=95.0, line=(1, 1, 1), contrast=255)
    return Word(text=text, **{**values, **changes})


@pytest.mark.parametrize(
    ("word", "doubted"),
    [
        (_word("1,250.00"), False),
        (_word("1,250.00", confidence=70.0), True),  # tesseract guessed
        (_word("1,250.00", contrast=60), True),  # faint print
        (_word("1,250.00", height=7), True),  # small print among 15 px digits
        (_word("1", ink_beside=True), True),  # characters dropped beside it
        (_word("note", height=7), False),  # lower-case words are short by nature: only digits are compared
    ],
)
def test_which_words_are_doubted(word: Word, doubted: bool) -> None:
    page = [_word("2024-03-05"), _word("INV-001"), _word("250.00"), word]
    assert is_doubtful(word, page) is doubted


def test_a_field_is_uncertain_when_its_span_touches_a_doubtful_word_or_is_unknown() -> None:
    fields = InvoiceFields(
        invoice_number="INV-1",
        total=Decimal("10.00"),
        payee_account="DE89370400440532013000",
        evidence={
            "invoice_number": FieldEvidence(confidence=0.9, span=(0, 5)),
            "total": FieldEvidence(confidence=0.9, span=(20, 25)),
            # payee_account: read, but from where is not known
        },
    )
    assert uncertain_fields(fields, []) == ["ocr_uncertain:payee_account"]
    assert uncertain_fields(fields, [(24, 30)]) == ["ocr_uncertain:total", "ocr_uncertain:payee_account"]
    assert uncertain_fields(fields, [(5, 20)]) == ["ocr_uncertain:payee_account"]  # touching is not overlapping
