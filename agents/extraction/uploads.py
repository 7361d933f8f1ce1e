"""What an uploaded document says, and how it was read: the one door every upload (API, web form, CLI) goes through.

An upload is typed text, a PDF with a text layer, a scan (a PDF without one, or a PNG/JPEG/TIFF image) read by
OCR, or a structured e-invoice (a Factur-X/ZUGFeRD PDF carrying CII XML, or an XRechnung/Peppol UBL or CII XML
file). The kind is decided by the bytes, never by the file's name or declared type. The text the extractors and
the grounding read is stored beside the original document and the `TextSource`, so an OCR reading is never
mistaken for the document itself and an e-invoice's XML can be read again, exactly, when the invoice is extracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agents.extraction.einvoice.read import einvoice_from_bytes, einvoice_in_pdf
from agents.extraction.einvoice.render import render_einvoice
from agents.extraction.pdf import (
    NoTextLayer,
    check_upload_size,
    invoice_text_from_upload,
    is_pdf,
)

_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}


class TextSource(StrEnum):
    TYPED = "text"  # pasted or uploaded as UTF-8 text
    PDF = "pdf"  # a PDF's text layer
    OCR = "ocr"  # read off an image by OCR: a reading that may be wrong, not the document
    EINVOICE = "einvoice"  # an e-invoice: the XML's values are exact, the visible text is checked against them


@dataclass(frozen=True)
class ReadDocument:
    text: str  # what the extractors read and every value is grounded in
    source: TextSource
    document: bytes | None = None  # the original, kept as evidence (None for typed text)
    document_type: str | None = None  # its MIME type
    # OCR only: [start, end) of each word in `text` the OCR may have misread (agents.extraction.ocr_confidence).
    doubtful_spans: tuple[tuple[int, int], ...] = ()


def image_type(data: bytes) -> str | None:
    return next((mime for magic, mime in _IMAGE_MAGIC.items() if data.startswith(magic)), None)


def looks_like_xml(data: bytes) -> bool:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or head.startswith(b"<") and not head.lower().startswith(b"<!doctype html")


def read_upload(data: bytes, filename: str | None = None, content_type: str | None = None) -> ReadDocument:
    """Read an upload into text, recording how. CPU-bound (PDF parsing, OCR): call it off the event loop."""
    check_upload_size(data)
    mime = image_type(data)
    if mime is not None:
        return read_scan(data, mime)
    if looks_like_xml(data):
        return read_einvoice_xml(data)
    try:
        text = invoice_text_from_upload(data, filename, content_type)
    except NoTextLayer:
        einvoice = einvoice_in_pdf(data)
        if einvoice is not None:
            # A Factur-X whose page is an image: its XML's rendering stands in for the text layer.
            return ReadDocument(render_einvoice(einvoice), TextSource.EINVOICE, data, "application/pdf")
        return read_scan(data, "application/pdf")
    if not is_pdf(data):
        return ReadDocument(text, TextSource.TYPED)
    if einvoice_in_pdf(data) is not None:
        # The visible text is what a person reads; the XML is read again, exactly, when the invoice is extracted.
        return ReadDocument(text, TextSource.EINVOICE, data, "application/pdf")
    return ReadDocument(text, TextSource.PDF, data, "application/pdf")


def read_scan(data: bytes, mime: str) -> ReadDocument:
    # Imported here: OCR pulls in Pillow and PDFium, which typed text and text PDFs never need.
    from agents.extraction.scans import read_scanned_document

    read = read_scanned_document(data, mime)
    return ReadDocument(read.text, TextSource.OCR, data, mime, tuple(read.doubtful))


def read_einvoice_xml(data: bytes) -> ReadDocument:
    """An XRechnung / Peppol / CII XML file: read now so an invalid one is refused (422) before anything is stored,
    and rendered as the text a reviewer and the grounding read."""
    return ReadDocument(render_einvoice(einvoice_from_bytes(data)), TextSource.EINVOICE, data, "application/xml")
