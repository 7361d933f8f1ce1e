"""A parsed CII or UBL e-invoice as an `EInvoice`: the factur-x library reads either syntax into EN 16931
business terms (BT-1, BT-115, ...), and this maps the few terms we pay on and checks they are all there.

The library knows both syntaxes' element paths (Invoice and CreditNote, every Factur-X level); repeating them
here would be a second, worse copy. Schema (XSD) validation is left off: the values a bill is paid on are read
and checked here, and a schema's strictness about elements we never read would refuse invoices that read fine.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from facturx import parse_ubl_cii_xml
from lxml import etree

from agents.extraction.einvoice.model import TOTAL_LABELS, EInvoice, InvalidEInvoice
from agents.extraction.einvoice.xml import syntax_of
from agents.extraction.schemas import LineItem

_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?")
_REQUIRED = {
    "BT-1": "invoice number",
    "BT-2": "issue date",
    "BT-3": "document type code",
    "BT-5": "currency",
    "BT-27": "seller name",
    "BT-112": "grand total",
    "BT-115": "amount due",
}


def einvoice_from_xml(root: etree._Element) -> EInvoice:
    syntax, flavor = syntax_of(root)
    try:
        # "extended" reads every term the XML carries, whatever level it claims; dates come back as ISO strings.
        terms = parse_ubl_cii_xml(
            root, flavor=flavor, level="extended", check_xsd=False, date_as="string", bytes_as="string"
        )
    except Exception as exc:  # the library raises bare Exception/ValueError on bad values
        raise InvalidEInvoice(f"the {syntax} e-invoice cannot be read: {_short(exc)}") from exc
    seller, buyer = terms.get("BG-4") or {}, terms.get("BG-7") or {}
    terms["BT-27"] = seller.get("name")
    missing = [f"{name} ({term})" for term, name in _REQUIRED.items() if not _single(terms, term)]
    if missing:
        raise InvalidEInvoice(f"the {syntax} e-invoice lacks required values: {', '.join(missing)}")
    currency = _single(terms, "BT-5").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidEInvoice(f"the e-invoice's currency {currency!r} is not an ISO 4217 code")
    return EInvoice(
        syntax=syntax,
        guideline=_single(terms, "BT-24"),
        type_code=_single(terms, "BT-3").strip(),
        number=_single(terms, "BT-1").strip(),
        issue_date=_single(terms, "BT-2"),
        due_date=_single(terms, "BT-9"),
        currency=currency,
        seller=" ".join(_single(terms, "BT-27").split()),
        seller_vat=seller.get("vat_identifier"),
        buyer=buyer.get("name"),
        accounts=tuple(dict.fromkeys("".join(a.split()) for a in _all(terms.get("BT-84")) if a.strip())),
        lines=tuple(_line(line) for line in terms.get("BG-25") or []),
        totals={term: _amount(terms, term) for term in TOTAL_LABELS if _single(terms, term)},
    )


def _all(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _single(terms: dict[str, Any], term: str) -> str | None:
    """One value of a term; the same element given twice with different values is a contradiction, refused."""
    values = list(dict.fromkeys(v.strip() for v in _all(terms.get(term)) if v.strip()))
    if len(values) > 1:
        raise InvalidEInvoice(f"the e-invoice gives {term} twice with different values: {', '.join(values[:3])}")
    return values[0] if values else None


def _amount(terms: dict[str, Any], term: str) -> Decimal:
    printed = _single(terms, term) or ""
    return _decimal(printed, f"{TOTAL_LABELS[term].lower()} ({term})")


def _decimal(printed: str, what: str) -> Decimal:
    if not _DECIMAL.fullmatch(printed):
        raise InvalidEInvoice(f"the e-invoice's {what} {printed[:40]!r} is not a decimal number")
    return Decimal(printed)


def _line(line: dict[str, Any]) -> LineItem:
    def text(term: str) -> str | None:
        value = line.get(term)
        return " ".join(str(value).split()) if value is not None else None

    for term, what in (("BT-129", "quantity"), ("BT-146", "net price"), ("BT-131", "net amount")):
        if text(term) is not None:
            _decimal(text(term), f"line {what} ({term})")
    return LineItem(
        description=text("BT-153"), quantity=text("BT-129"), unit_price=text("BT-146"), amount=text("BT-131")
    )


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
