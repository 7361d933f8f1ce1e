"""The page checked against itself: where an invoice contradicts its own total, say so.

A forged or careless invoice can print a total the rest of the page does not support: line items that add up
to something else, a second "Grand total" further down, the total in words disagreeing with the digits, an
amount whose decimal mark cannot be told, or a title saying it is not a bill to pay at all (credit note,
correction, reminder). Each finding is a flag, and any flag sends the invoice to a person (invariant 12).

Pure: text and the offline reading in, flags out. Every check stays silent when it cannot judge (no line
items, no second total, no amount in words), so a document is flagged for what it says, not for what a
best-effort reader failed to find.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from agents.extraction.amounts import DecimalMark, find_amounts, infer_decimal_mark
from agents.extraction.dates import find_dates
from agents.extraction.document_kinds import find_document_kinds
from agents.extraction.layout import Layout, layout_of
from agents.extraction.line_items import find_item_tables
from agents.extraction.number_words import find_words_amounts
from agents.extraction.schemas import InvoiceFields, LineItem
from agents.extraction.totals import TotalKind, find_total_candidates

FLAG_PREFIXES = ("inconsistent:", "ambiguous:", "document_kind:")
_CENT = Decimal("0.01")
_CENTS = re.compile(r"-?\d+\.\d{2}")  # money as printed on an item row: two decimals, no more
# Rows whose amount can stand between the line items and the total: taxes, fees, shipping, discounts, rounding,
# prepayments. A difference printed on such a row is explained; a difference printed nowhere is not.
_ADJUSTMENT = re.compile(
    r"tax|vat|mwst|ust|steuer|tva|btw|gst|hst|pst|iva|podatek|shipping|freight|delivery|postage|handling|fee"
    r"|surcharge|charge|versand|porto|fracht|gebühr|zuschlag|frais|port|livraison|verzend|kosten|toeslag|dostaw"
    r"|opłat|discount|rabatt?|remise|korting|skonto|nachlass|abschlag|escompte|rounding|rundung|arrondi"
    r"|afronding|zaokr|deposit|prepaid|paid|anzahlung|acompte|aanbetaling|zaliczk|credit|gutschrift|pfand",
    re.IGNORECASE,
)


def is_consistency_flag(flag: str) -> bool:
    return flag.startswith(FLAG_PREFIXES)


def check_consistency(text: str, fields: InvoiceFields) -> list[str]:
    """Flags for every way the document disagrees with itself or with the total read from it."""
    layout = layout_of(text)
    decimal_mark = infer_decimal_mark(text)
    flags = [kind.flag for kind in find_document_kinds(layout)]
    flags += _several_totals(layout, decimal_mark)
    if fields.total is not None:
        flags += _lines_vs_total(layout, fields.total, decimal_mark)
        flags += _words_vs_digits(text, fields.total)
        flags += _ambiguous_total(text, fields)
    return flags


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _lines_vs_total(layout: Layout, total: Decimal, decimal_mark: DecimalMark | None) -> list[str]:
    """Line items sum to the total, or to it less an amount printed on a tax, fee or discount row.

    Only tables read cleanly are judged: the reader is best effort, and a table it half understood (a wrapped
    description read as a row, a summary row read as an item) would flag honest invoices. Each table is tried on
    its own (a summary and a detail table repeat the same items) and all together (a table continued on the next
    page); one reading that adds up is enough.
    """
    tables = [_amounts(table) for table in find_item_tables(layout, decimal_mark) if _clean(table)]
    tables = [amounts for amounts in tables if sum(amounts) > 0]
    if not tables:
        return []
    adjustments = _adjustment_amounts(layout, decimal_mark)
    readings = [*tables, [amount for amounts in tables for amount in amounts]] if len(tables) > 1 else tables
    for amounts in readings:
        tolerance = _CENT * len(amounts)
        difference = total - sum(amounts)
        if abs(difference) <= tolerance or _explained(difference, adjustments, tolerance):
            return []
    lines = sum(readings[-1])
    direction = "exceed" if lines > total else "fall short of"
    return [
        f"inconsistent:lines_vs_total: line items sum to {_money(lines)} but the total is {_money(total)} "
        f"(the lines {direction} it and no tax, fee or discount printed on the page explains the difference)"
    ]


def _clean(items: list[LineItem]) -> bool:
    """Every row is money with cents and either quantity x unit price = amount, or an amount alone."""
    if not items or any(item.amount is None or not _CENTS.fullmatch(item.amount) for item in items):
        return False
    if all(item.quantity is None and item.unit_price is None for item in items):
        return True
    for item in items:
        if item.quantity is None or item.unit_price is None or item.amount is None:
            return False
        if abs(Decimal(item.quantity) * Decimal(item.unit_price) - Decimal(item.amount)) > _CENT:
            return False
    return True


def _amounts(items: Iterable[LineItem]) -> list[Decimal]:
    return [Decimal(item.amount) for item in items if item.amount is not None]


def _adjustment_amounts(layout: Layout, decimal_mark: DecimalMark | None) -> list[Decimal]:
    """Every amount on a line whose words name a tax, fee, shipping, discount, rounding or prepayment."""
    found: list[Decimal] = []
    for line in layout.lines:
        if _ADJUSTMENT.search(line.text):
            found += [abs(a.value) for a in find_amounts(layout.text, line.start, line.end, decimal_mark)]
    return found


def _explained(difference: Decimal, adjustments: list[Decimal], tolerance: Decimal) -> bool:
    """The difference is one adjustment printed on the page, or two of them (two tax rates, tax and shipping)."""
    target = abs(difference)
    if any(abs(target - value) <= tolerance for value in adjustments):
        return True
    pairs = adjustments[:50]  # bounded: a page has a handful of such rows
    return any(abs(target - a - b) <= tolerance for i, a in enumerate(pairs) for b in pairs[i + 1 :] if a > 0 and b > 0)


def _several_totals(layout: Layout, decimal_mark: DecimalMark | None) -> list[str]:
    """Rows labelled as the grand total (or amount due) that print different amounts, in one currency.

    A row may print net, tax and gross side by side, so each row counts with its largest amount. An amount due
    below the total is a prepayment or a part payment, not a second total; one above it is not.
    """
    dates = find_dates(layout.text)
    rows: dict[int, tuple[Decimal, TotalKind, str | None, str]] = {}
    for candidate in find_total_candidates(layout, dates, decimal_mark):
        if not candidate.amount.has_decimals:
            continue  # a bare integer on a total row is a count, not money
        if candidate.below and candidate.kind != TotalKind.GROSS:
            continue  # under a bare "Total"/"Summe" column header stand line amounts, not a second total
        line = layout.line_at(candidate.amount.start)
        kept = rows.get(line.number)
        if kept is None or candidate.amount.value > kept[0]:
            printed = layout.text[candidate.amount.start : candidate.amount.end]
            rows[line.number] = (candidate.amount.value, candidate.kind, candidate.currency, printed)
    currencies = {currency for _, _, currency, _ in rows.values() if currency}
    if len(currencies) > 1:
        return []  # a total restated in a second currency is a conversion, not a contradiction
    grand = {value: printed for value, kind, _, printed in rows.values() if kind != TotalKind.DUE}
    if not grand:
        return []
    top = max(grand)
    due = {value: printed for value, kind, _, printed in rows.values() if kind == TotalKind.DUE and value > top}
    values = {**grand, **due}
    if len(values) < 2:
        return []
    listed = ", ".join(values[value] for value in sorted(values))
    return [f"inconsistent:several_totals: the document prints different totals ({listed})"]


def _words_vs_digits(text: str, total: Decimal) -> list[str]:
    for words in find_words_amounts(text):
        whole_matches = not words.cents_given and words.value == total.to_integral_value(rounding="ROUND_FLOOR")
        if abs(words.value - total) <= _CENT or whole_matches:
            continue
        return [
            f"inconsistent:words_vs_digits: the amount in words {words.phrase.strip()!r} reads "
            f"{_money(words.value)} but the total is {_money(total)}"
        ]
    return []


def _ambiguous_total(text: str, fields: InvoiceFields) -> list[str]:
    """A total like "4.950" or "4,950": three digits after its only mark, and no other amount on the page
    printed with cents, so nothing says whether it is four thousand or four."""
    evidence = fields.evidence.get("total")
    if evidence is None or evidence.span is None:
        return []
    start, end = evidence.span
    number = re.search(r"\d[\d.,]*", text[start:end])
    if number is None or not re.fullmatch(r"\d{1,3}[.,]\d{3}", number.group()):
        return []
    masked = list(text)
    for date in find_dates(text):
        masked[date.start : date.end] = " " * (date.end - date.start)
    for amount in find_amounts("".join(masked)):
        if amount.start < end and amount.end > start:
            continue
        printed = text[amount.start : amount.end]
        if re.search(r"\d[.,]\d{2}(?!\d)", printed) or ("," in printed and "." in printed):
            return []  # the page prints cents elsewhere, which settles the convention
    printed = number.group()
    as_thousands, as_decimal = Decimal(re.sub(r"[.,]", "", printed)), Decimal(printed.replace(",", "."))
    return [
        f"ambiguous:total: {printed!r} may be {_money(as_thousands)} or {as_decimal}; no other amount on the page "
        "shows which mark is the decimal point"
    ]
