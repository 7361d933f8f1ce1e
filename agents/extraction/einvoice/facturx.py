"""The XML a Factur-X / ZUGFeRD / XRechnung PDF carries as an attachment under its standard file name.

pypdf (already our PDF reader) lists the attachments. The factur-x library's own reader is not used for this: it
silently skips an attachment that fails to parse, which would quietly turn a broken e-invoice into a plain PDF,
and it parses with lxml's defaults rather than our hardened parser.
"""

from __future__ import annotations

import io

from pypdf import PdfReader

from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.pdf import MAX_UPLOAD_BYTES

# Factur-X 1.0 / ZUGFeRD 2.x, ZUGFeRD 1.0 and 2.0, and ZUGFeRD 2.1's XRechnung profile; names compare case-blind.
EINVOICE_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")


def embedded_xml(pdf: bytes) -> bytes | None:
    """The e-invoice XML attached to `pdf`, or None when it carries none (a plain PDF)."""
    try:
        attachments = PdfReader(io.BytesIO(pdf), strict=False).attachments
        names = [name for name in attachments if name.lower() in EINVOICE_NAMES]
    except Exception:  # a damaged attachment tree: the PDF is read as its text layer alone
        return None
    if not names:
        return None
    try:
        # Only the e-invoice is decompressed (pypdf caps each stream's output), never the other attachments.
        contents = [content for name in names for content in attachments[name]]
    except Exception as exc:  # pypdf raises many types on a damaged stream
        raise InvalidEInvoice(f"the PDF's e-invoice XML ({names[0]}) is damaged and cannot be read") from exc
    if len(contents) > 1:
        raise InvalidEInvoice(
            f"this PDF carries more than one e-invoice XML ({', '.join(names)}); which one is the invoice cannot "
            "be told"
        )
    name, xml = names[0], contents[0]
    if len(xml) > MAX_UPLOAD_BYTES:
        raise InvalidEInvoice(f"the PDF's e-invoice XML ({name}) is over {MAX_UPLOAD_BYTES // 1_048_576} MB")
    return xml
