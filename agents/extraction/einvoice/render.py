"""An e-invoice's values as text a person reads: what a reviewer sees of an XML upload, and what its values are
grounded in (every value printed once, in the notations the extractors and the grounding read).
"""

from __future__ import annotations

from decimal import Decimal

from agents.extraction.einvoice.checks import type_label
from agents.extraction.einvoice.model import TOTAL_LABELS, EInvoice


def render_einvoice(einvoice: EInvoice) -> str:
    """Deterministic: the same e-invoice always renders to the same text."""
    e, currency = einvoice, einvoice.currency
    head = [
        f"E-invoice ({e.syntax}{f', {e.guideline}' if e.guideline else ''})",
        f"Document type: {type_label(e.type_code).capitalize()} ({e.type_code})",
        "",
        f"Seller: {e.seller}",
        *([f"Seller VAT ID: {e.seller_vat}"] if e.seller_vat else []),
        *([f"Buyer: {e.buyer}"] if e.buyer else []),
        "",
        f"Invoice No: {e.number}",
        f"Invoice date: {e.issue_date}",
        *([f"Due date: {e.due_date}"] if e.due_date else []),
        f"Currency: {currency}",
    ]
    lines = [""]
    if e.lines:
        lines.append(f"{'Description':<48} {'Qty':>10} {'Unit price':>14} {'Amount':>14}")
        for item in e.lines:
            lines.append(
                f"{(item.description or '-')[:48]:<48} {item.quantity or '-':>10} "
                f"{_money(item.unit_price):>14} {_money(item.amount):>14}"
            )
        lines.append("")
    totals = [f"{TOTAL_LABELS[term]}: {currency} {value:,}" for term, value in e.totals.items()]
    payment = [f"Pay to IBAN / account: {_grouped(account)}" for account in e.accounts]
    return "\n".join([*head, *lines, *totals, *([""] + payment if payment else [])]) + "\n"


def _money(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value):,}"


def _grouped(account: str) -> str:
    # Groups of four, as IBANs are printed; the grounding and the payout scan read them with or without spaces.
    return " ".join(account[i : i + 4] for i in range(0, len(account), 4))
