"""An e-invoice out of the bytes that carry it: an XML file, or a PDF with the XML attached (Factur-X)."""

from __future__ import annotations

from agents.extraction.einvoice.facturx import embedded_xml
from agents.extraction.einvoice.mapping import einvoice_from_xml
from agents.extraction.einvoice.model import EInvoice, InvalidEInvoice
from agents.extraction.einvoice.xml import parse_xml
from agents.extraction.pdf import is_pdf


def einvoice_from_bytes(xml: bytes) -> EInvoice:
    return einvoice_from_xml(parse_xml(xml))


def einvoice_in_pdf(pdf: bytes) -> EInvoice | None:
    """The PDF's e-invoice, None for a plain PDF; one whose attached XML is invalid is refused, not read as a
    plain PDF, since its sender meant the XML to be the exact record and it is broken (or built to mislead)."""
    xml = embedded_xml(pdf)
    if xml is None:
        return None
    try:
        return einvoice_from_bytes(xml)
    except InvalidEInvoice as exc:
        raise InvalidEInvoice(f"this PDF's attached e-invoice XML is invalid: {exc.message}") from exc


def einvoice_of_document(document: bytes) -> EInvoice:
    """A stored e-invoice read again, exactly as at upload."""
    if not is_pdf(document):
        return einvoice_from_bytes(document)
    einvoice = einvoice_in_pdf(document)
    if einvoice is None:
        raise InvalidEInvoice("the stored PDF carries no e-invoice XML")
    return einvoice
