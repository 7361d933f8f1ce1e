"""An e-invoice's XML parsed without trusting it: no DTD, no entities, no network, bounded in size.

Neither CII nor UBL uses a DTD, so any DOCTYPE is refused outright: that one rule stops billion-laughs entity
bombs and external-entity (XXE) file and network reads, and the parser is hardened besides (entities are never
expanded, nothing is fetched, libxml2's limits on tree depth and text size stay on).
"""

from __future__ import annotations

from lxml import etree

from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.pdf import MAX_UPLOAD_BYTES

CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
ZUGFERD_1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"
# Root element -> (our name for the syntax, the factur-x library's flavor).
SYNTAXES: dict[str, tuple[str, str]] = {
    f"{{{CII}}}CrossIndustryInvoice": ("CII", "factur-x"),
    f"{{{UBL_INVOICE}}}Invoice": ("UBL Invoice", "ubl-2.1-invoice"),
    f"{{{UBL_CREDIT_NOTE}}}CreditNote": ("UBL CreditNote", "ubl-2.1-creditnote"),
}
_ACCEPTED = "a UN/CEFACT CII invoice (Factur-X, ZUGFeRD 2, XRechnung) or a UBL 2.1 Invoice or CreditNote (Peppol)"


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers keep state and are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def parse_xml(data: bytes) -> etree._Element:
    """The root element of an e-invoice, or an `InvalidEInvoice` saying plainly what is wrong."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidEInvoice(f"the e-invoice XML is over {MAX_UPLOAD_BYTES // 1_048_576} MB")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidEInvoice(f"the e-invoice is not well-formed XML ({exc.msg}); send it again or its PDF") from exc
    except ValueError as exc:  # lxml refuses e.g. a str with an encoding declaration; we only pass bytes
        raise InvalidEInvoice(f"the e-invoice XML cannot be read ({exc})") from exc
    # Refused after parsing, not by looking for "<!DOCTYPE" in the bytes: that misses UTF-16 and flags a note
    # that quotes the word in CDATA. Parsing it was harmless, since entities were neither expanded nor fetched.
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise _dtd()
    return root


def syntax_of(root: etree._Element) -> tuple[str, str]:
    """(syntax, factur-x flavor) of a parsed e-invoice; anything but CII or UBL 2.1 is refused."""
    found = SYNTAXES.get(root.tag)
    if found is not None:
        return found
    if root.tag == f"{{{ZUGFERD_1}}}CrossIndustryDocument":
        raise InvalidEInvoice(f"this is a ZUGFeRD 1.0 invoice, which is not read; send {_ACCEPTED}, or its text")
    name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
    namespace = etree.QName(root).namespace if isinstance(root.tag, str) else None
    where = f" in namespace {namespace}" if namespace else " without a namespace"
    raise InvalidEInvoice(f"this XML is not an e-invoice: its root element is <{name}>{where}; send {_ACCEPTED}")


def _dtd() -> InvalidEInvoice:
    return InvalidEInvoice(
        "the e-invoice XML declares a DTD or entities, which no CII or UBL invoice needs and which are refused "
        "as a known attack (entity expansion, external entities)"
    )
