"""The offline extractor: invoice fields from text by rules alone (no network, no model), fast and deterministic.

It is the fallback when no LLM is configured and the baseline any LLM extractor is measured against.
Each field is read by its own module; this one runs them in dependency order (the issue date needs the invoice
number's line, the due date needs the issue date, the currency prefers the marker printed on the total) and
records where every value was read.
"""

from __future__ import annotations

from agents.extraction.accounts import find_payee_account
from agents.extraction.amounts import infer_decimal_mark
from agents.extraction.currencies import detect_currency
from agents.extraction.findings import Found
from agents.extraction.invoice_dates import DatesInText, find_due_date, find_issue_date
from agents.extraction.invoice_numbers import find_invoice_number
from agents.extraction.layout import layout_of
from agents.extraction.line_items import find_line_items
from agents.extraction.schemas import FieldEvidence, InvoiceFields
from agents.extraction.totals import find_total
from agents.extraction.vendors import find_vendor

# Each reported item is looked for in the whole text when it is grounded, so items cost time per item and per
# character. Invoices list tens of items, a long telecom bill a few hundred; a page of thousands is a list.
MAX_LINE_ITEMS = 200


def extract_offline(text: str) -> InvoiceFields:
    layout = layout_of(text)
    dates = DatesInText(layout)
    decimal_mark = infer_decimal_mark(text)

    vendor = find_vendor(layout)
    invoice_number = find_invoice_number(layout)
    issue_date = find_issue_date(layout, dates, invoice_number)
    due_date = find_due_date(layout, dates, issue_date)
    total = find_total(layout, dates.dates, decimal_mark)
    currency = detect_currency(text, total.currency if total else None)
    account = find_payee_account(text)

    evidence: dict[str, FieldEvidence] = {}
    found: dict[str, Found[object] | None] = {
        "vendor": vendor,
        "invoice_number": invoice_number,
        "issue_date": issue_date,
        "due_date": due_date,
        "total": total.total if total else None,
        "payee_account": Found(account.value, account.span, account.confidence) if account else None,
    }
    for name, finding in found.items():
        if finding is not None:
            evidence[name] = finding.evidence()
    if currency is not None:
        evidence["currency"] = FieldEvidence(confidence=currency.confidence, span=currency.span)

    return InvoiceFields(
        vendor=vendor.value if vendor else None,
        invoice_number=invoice_number.value if invoice_number else None,
        issue_date=issue_date.value if issue_date else None,
        due_date=due_date.value if due_date else None,
        total=total.total.value if total else None,
        currency=currency.code if currency else None,
        payee_account=account.value if account else None,
        line_items=find_line_items(layout, decimal_mark)[:MAX_LINE_ITEMS],
        evidence=evidence,
    )
