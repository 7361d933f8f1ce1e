"""Grounding: every value an extractor reports must be printed in the document it claims to come from.

A language model answers fluently with values a document never contained, and a prompt injection can hand it
some. So each non-null value is looked for in the text, tolerant of formatting only (an amount in any notation
that parses to the same Decimal, a date in any form that parses to the same day, an IBAN with or without spaces),
never of content. What is not found is dropped and flagged; what is found gets the span it was found at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property

from agents.extraction import labels
from agents.extraction.amounts import DecimalMark, find_amounts, infer_decimal_mark, parse_amount
from agents.extraction.company_names import LEGAL_FORM, normalize_name
from agents.extraction.currencies import find_currency_markers
from agents.extraction.dates import find_dates
from agents.extraction.label_search import find_labels
from agents.extraction.schemas import FieldEvidence, InvoiceFields, LineItem
from finance.invoices import normalize_invoice_number
from finance.vendors import normalize_vendor_name

Span = tuple[int, int]

# A value that is printed but was read by a model is trusted a little less than a rule's own reading.
GROUNDED_CONFIDENCE = 0.8
CROSS_CHECKED: tuple[str, ...] = ("total", "currency", "payee_account")


@dataclass(frozen=True)
class GroundingReport:
    fields: InvoiceFields  # ungrounded values set to None; evidence spans filled for the rest
    flags: list[str] = field(default_factory=list)  # "ungrounded:<field>"

    @property
    def grounded(self) -> bool:
        return not self.flags


class _Document:
    """The text, with what grounding needs from it computed once."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def decimal_mark(self) -> DecimalMark | None:
        return infer_decimal_mark(self.text)

    @cached_property
    def amounts(self) -> list[tuple[Decimal, Span]]:
        return [(a.value, a.span) for a in find_amounts(self.text, decimal_mark=self.decimal_mark)]

    @cached_property
    def dates(self) -> list[tuple[str, Span]]:
        return [(d.iso, (d.start, d.end)) for d in find_dates(self.text)]

    # Computed once per document, not once per line item: an answer with hundreds of items must not rescan a
    # megabyte of text for each (that made grounding quadratic).
    @cached_property
    def printed_amounts(self) -> frozenset[Decimal]:
        return frozenset(amount for amount, _ in self.amounts)

    @cached_property
    def lowered(self) -> str:
        return self.text.lower()

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(re.findall(r"\w{2,}", self.lowered))


def ground(fields: InvoiceFields, text: str) -> GroundingReport:
    """Keep only the values found in `text`; flag the rest as "ungrounded:<field>"."""
    doc = _Document(text)
    updates: dict[str, object] = {}
    evidence = dict(fields.evidence)
    flags: list[str] = []
    for name in ("vendor", "invoice_number", "issue_date", "due_date", "total", "currency", "payee_account"):
        value = getattr(fields, name)
        if value is None:
            evidence.pop(name, None)
            continue
        issue_date = updates.get("issue_date", fields.issue_date)
        spans = _locate(name, value, doc, issue_date if isinstance(issue_date, str) else None)
        if not spans:
            updates[name] = None
            evidence.pop(name, None)
            flags.append(f"ungrounded:{name}")
            continue
        previous = evidence.get(name)
        # The extractor's own span, when it is one of the places the value is printed, says more than ours
        # (the total on the "Total" line, not the same number in a line item).
        if previous is not None and previous.span in spans:
            continue
        # Totals are printed last; other fields' first occurrence is the header's.
        span = spans[-1] if name == "total" else spans[0]
        confidence = previous.confidence if previous is not None else GROUNDED_CONFIDENCE
        evidence[name] = FieldEvidence(confidence=confidence, span=span)
    items = [item for item in fields.line_items if _line_item_grounded(item, doc)]
    if len(items) < len(fields.line_items):
        updates["line_items"] = items
        flags.append("ungrounded:line_items")
    updates["evidence"] = evidence
    return GroundingReport(fields.model_copy(update=updates), flags)


def cross_check(llm: InvoiceFields, offline: InvoiceFields) -> list[str]:
    """Fields on which two independent readings disagree ("disagreement:<field>"); None counts as a value,
    so a total only one of them found is a disagreement too: money needs two readings that agree."""
    flags: list[str] = []
    for name in CROSS_CHECKED:
        if getattr(llm, name) != getattr(offline, name):
            flags.append(f"disagreement:{name}")
    # What identifies the bill and its issuer feeds the duplicate keys and the vendor match: a model that reads a
    # PO number as the invoice number, or a service date as the issue date, would make a paid bill look new.
    # Only a value both readings found can disagree: a grounded value the rules missed is the model's to add.
    for name, same in _IDENTITY_CHECKS.items():
        mine, theirs = getattr(llm, name), getattr(offline, name)
        if mine is not None and theirs is not None and same(mine) != same(theirs):
            flags.append(f"disagreement:{name}")
    return flags


_IDENTITY_CHECKS: dict[str, Callable[[str], str]] = {
    "invoice_number": normalize_invoice_number,
    "issue_date": str,
    "vendor": normalize_vendor_name,
}


def _locate(name: str, value: object, doc: _Document, issue_date: str | None) -> list[Span]:
    text = doc.text
    if name == "vendor":
        return _vendor_spans(str(value), text)
    if name == "invoice_number":
        return _compact_spans(str(value), text, r"[^\S\n]*", before=r"(?<![\w\-/.])", after=r"(?![\w\-/])")
    if name in ("issue_date", "due_date"):
        spans = [span for iso, span in doc.dates if iso == value]
        if not spans and name == "due_date" and issue_date is not None:
            spans = _terms_spans(str(value), issue_date, text)
        return spans
    if name == "total":
        return [span for amount, span in doc.amounts if amount == value]
    if name == "currency":
        return [marker.span for marker in find_currency_markers(text) if marker.code == value]
    if name == "payee_account":
        return _compact_spans(str(value), text, r"[ \u00a0\-]?", before=r"(?<![A-Za-z0-9])", after=r"(?![A-Za-z0-9])")
    raise ValueError(f"no grounding rule for {name}")


def _phrase_spans(phrase: str, text: str) -> list[Span]:
    """Where `phrase` is printed, ignoring case and how its words are spaced or wrapped."""
    words = phrase.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(word) for word in words)
    if re.match(r"\w", phrase.strip()):
        pattern = r"(?<!\w)" + pattern
    if re.search(r"\w$", phrase.strip()):
        pattern += r"(?!\w)"
    return [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def _vendor_spans(vendor: str, text: str) -> list[Span]:
    spans = _phrase_spans(vendor, text)
    if spans:
        return spans
    # "ACME Hosting GmbH" for a letterhead that prints "ACME Hosting": the name, less its legal form, is printed.
    forms = [m for m in LEGAL_FORM.finditer(vendor) if m.end() == len(vendor.rstrip())]
    if not forms:
        return []
    bare = vendor[: forms[-1].start()].rstrip(" ,")
    return _phrase_spans(bare, text) if len(normalize_name(bare)) >= 3 else []


def _compact_spans(value: str, text: str, gap: str, *, before: str, after: str) -> list[Span]:
    """Where `value` is printed with any case and optional `gap` between its characters ("DE89 3704 ...")."""
    chars = [ch for ch in value if not ch.isspace()]
    if not chars:
        return []
    pattern = before + gap.join(re.escape(ch) for ch in chars) + after
    return [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def _terms_spans(due: str, issued: str, text: str) -> list[Span]:
    """A due date that is not printed but follows from printed terms ("Net 30 days", "due on receipt")."""
    try:
        due_day, issue_day = date.fromisoformat(due), date.fromisoformat(issued)
    except ValueError:
        return []
    spans: list[Span] = []
    for match in labels.PAYMENT_TERMS_DAYS.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        if labels.EARLY_PAYMENT_DISCOUNT.search(text[line_start : line_end if line_end >= 0 else len(text)]):
            continue  # "2% discount within 10 days" is an offer, not the deadline
        if issue_day + timedelta(days=int(match.group(1) or match.group(2))) == due_day:
            spans.append(match.span())
    if due_day == issue_day:
        spans.extend(m.span() for m in find_labels(labels.PAYABLE_IMMEDIATELY, text))
    return spans


def _line_item_grounded(item: LineItem, doc: _Document) -> bool:
    """An item is kept when its description's words and its money are printed (its quantity is too small a
    number to prove anything)."""
    if item.description is not None and not _words_present(item.description, doc):
        return False
    printed = doc.printed_amounts
    for value in (item.unit_price, item.amount):
        if value is not None and not (_readings(value, doc) & printed):
            return False
    return True


def _words_present(description: str, doc: _Document) -> bool:
    # Word by word: a description wrapped over two table rows is interleaved with the other columns' cells.
    words = re.findall(r"\w{2,}", description.lower())
    if all(word in doc.words for word in words):
        return True  # every word printed as a word: the common case, without a scan of the whole text
    if _phrase_spans(description, doc.text):
        return True
    return all(word in doc.lowered for word in words)


def _readings(value: str, doc: _Document) -> set[Decimal]:
    """Both plausible values of a line item's amount string: the plain "1250.000" form and the document's notation."""
    readings: set[Decimal] = set()
    stripped = value.strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", stripped):
        try:
            readings.add(Decimal(stripped))
        except InvalidOperation:
            pass
    parsed = parse_amount(stripped, doc.decimal_mark)
    if parsed is not None:
        readings.add(parsed)
    return readings
