"""The visible text of a Factur-X PDF against its XML: the page a person reads and the data a machine pays on
must say the same. A PDF printing 4,950.00 over an XML of 49.50, or another IBAN than the XML's, is a forgery or
a broken generator; either way a person looks ("einvoice_mismatch:<field>").

Only values both readings have are compared: the offline reading of a page is best effort, and a value it did
not find is no contradiction.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.extraction.einvoice.model import EInvoice
from agents.extraction.schemas import InvoiceFields
from finance.invoices import normalize_invoice_number
from finance.vendors import normalize_identifier, normalize_vendor_name

# Field -> how two values are compared (formatting is not content: spacing, case, legal-form words).
_SAME: dict[str, Callable[[str], str]] = {
    "vendor": normalize_vendor_name,
    "invoice_number": normalize_invoice_number,
    "issue_date": str,
    "due_date": str,
    "currency": str.upper,
}


def cross_check(einvoice: EInvoice, visible: InvoiceFields) -> list[str]:
    xml = {
        "vendor": einvoice.seller,
        "invoice_number": einvoice.number,
        "issue_date": einvoice.issue_date,
        "due_date": einvoice.due_date,
        "currency": einvoice.currency,
    }
    flags = []
    for name, same in _SAME.items():
        seen, exact = getattr(visible, name), xml[name]
        if seen is not None and exact is not None and same(seen) != same(exact):
            flags.append(_mismatch(name, seen, exact))
    # The page may print the grand total or the amount due (they differ by a prepayment); either agrees.
    if visible.total is not None and visible.total not in (einvoice.payable, einvoice.grand_total):
        flags.append(_mismatch("total", f"{visible.total:,}", f"{einvoice.payable:,}"))
    accounts = {normalize_identifier(account) for account in einvoice.accounts}
    if visible.payee_account is not None and normalize_identifier(visible.payee_account) not in accounts:
        flags.append(_mismatch("payee_account", visible.payee_account, ", ".join(einvoice.accounts) or "none"))
    return flags


def _mismatch(name: str, seen: str, exact: str) -> str:
    return f"einvoice_mismatch:{name}: the visible text reads {seen!r} but the e-invoice XML says {exact!r}"
