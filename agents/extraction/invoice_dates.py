"""The issue date and the due date: a date read next to (or under) the label that names it."""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, timedelta

from agents.extraction import labels
from agents.extraction.dates import DateFound, find_dates
from agents.extraction.findings import Found
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Layout

# What may sit between a label and its date: punctuation, a second label joined by a slash ("Rechnungsdatum/
# Lieferdatum:") and at most two short connecting words ("Due on", "Date limite de paiement le", "Fällig am").
_FILLER = re.compile(
    r"(?:[ \t]*/[ \t]*[^\W\d_]+(?:[ \t][^\W\d_]+)?)?"
    r"[\s:.,\-–—#=]*(?:(?:on|le|du|am|den|dem|the|of|at|is|ist|per|vom|dnia|z)(?![^\W\d_])[\s:.,\-–—]*){0,2}",
    re.IGNORECASE,
)
_GAP = re.compile(r"[ \t,]+")
_RANGE_WINDOW = 25  # chars: "01.10.2018 bis 31.10.2018" is a period, not a deadline
# Filler between a label and its date is punctuation and two short words, or a column gap: past this many
# characters the date belongs to something else, and looking further costs time on every label of a long line.
_MAX_FILLER = 200


class DatesInText:
    """All dates of a document, found once, looked up by position."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.dates = find_dates(layout.text)
        self._starts = [found.start for found in self.dates]
        self._ends = sorted(found.end for found in self.dates)
        self._discount_lines: dict[int, bool] = {}

    def _first_from(self, offset: int) -> int:
        """Index of the first date starting at or after `offset` (dates are sorted and do not overlap)."""
        return bisect_left(self._starts, offset)

    def first_after(self, label_start: int, label_end: int) -> DateFound | None:
        """The date printed right after a label on its line, else under the label if the label has a cell of its own."""
        layout = self.layout
        line = layout.line_at(label_start)
        index = self._first_from(label_end)
        if index < len(self.dates):
            found = self.dates[index]
            if found.start <= min(line.end, label_end + _MAX_FILLER) and _FILLER.fullmatch(
                layout.text, label_end, found.start
            ):
                return found
        cell = layout.cell_at(label_start)
        if cell is None or cell.end > label_end + 2:
            return None  # the label shares its cell with other words: its value is not below it
        column = label_start - line.start
        for below in layout.cells_below(line.number, column, column + (label_end - label_start), max_lines=2, slack=6):
            index = self._first_from(below.start)
            if index < len(self.dates) and self.dates[index].start < below.end:
                return self.dates[index]
        return None

    def opening_next_line(self, offset: int) -> DateFound | None:
        """The date that opens the next non-blank line, when nothing but blanks follows `offset` on its own line:
        "Rechnung Nr. 47110815 vom" wrapped before its date."""
        layout = self.layout
        line = layout.line_at(offset)
        if layout.text[offset : line.end].strip():
            return None
        following = layout.following_lines(line.number, 1)
        if not following or not following[0].cells:
            return None
        index = self._first_from(following[0].start)
        if index < len(self.dates) and self.dates[index].start == following[0].cells[0].start:
            return self.dates[index]
        return None

    def on_discount_line(self, position: int) -> bool:
        """Whether the line at `position` offers an early-payment discount; each line is searched once, however
        many labels it holds."""
        line = self.layout.line_at(position)
        if line.number not in self._discount_lines:
            self._discount_lines[line.number] = bool(labels.EARLY_PAYMENT_DISCOUNT.search(line.text))
        return self._discount_lines[line.number]

    def follows_a_date(self, position: int) -> bool:
        line = self.layout.line_at(position)
        earliest = max(line.start, position - _RANGE_WINDOW)
        index = bisect_left(self._ends, earliest)
        return index < len(self._ends) and self._ends[index] <= position


def find_issue_date(layout: Layout, dates: DatesInText, invoice_number: Found[str] | None) -> Found[str] | None:
    text = layout.text
    for match in find_labels(labels.ISSUE_DATE, text):
        found = dates.first_after(match.start(), match.end())
        if found:
            return Found(found.iso, (found.start, found.end), 0.9)
    if invoice_number is not None and invoice_number.span is not None:
        # "Rechnung Nr. 47110815 vom 31.10.2018", "Facture n°562044387 du 02 Juillet 2015"
        number_end = invoice_number.span[1]
        gap = _GAP.match(text, number_end)
        connector = labels.NUMBER_DATE_CONNECTOR.match(text, gap.end(), layout.line_at(number_end).end) if gap else None
        if connector is not None:
            found = dates.first_after(connector.start(), connector.end()) or dates.opening_next_line(connector.end())
            if found:
                return Found(found.iso, (found.start, found.end), 0.85)
    # A letter's own date line: "München, den 01.11.2024", "Paris, le 3 mars 2024", "Warszawa, dnia 12.03.2024".
    # It outranks a bare "Datum:", which on such letters is often a print stamp in the footer.
    for match in labels.LETTER_DATE.finditer(text):
        found = dates.first_after(match.start(), match.end())
        if found:
            return Found(found.iso, (found.start, found.end), 0.75)
    for pattern, confidence in ((labels.GENERIC_DATE, 0.75), (labels.FALLBACK_ISSUE_DATE, 0.6)):
        for match in find_labels(pattern, text):
            found = dates.first_after(match.start(), match.end())
            if found:
                return Found(found.iso, (found.start, found.end), confidence)
    # Last resort: the first date near the top of the page, where letters print their date.
    top = layout.lines[min(len(layout.lines) - 1, 15)].end
    for found in dates.dates:
        if found.start < top and not dates.follows_a_date(found.start):
            return Found(found.iso, (found.start, found.end), 0.4)
    return None


def _terms_due_date(layout: Layout, dates: DatesInText, issue: Found[str] | None) -> Found[str] | None:
    """A due date computed from "Net 30 days" or "payable on receipt" and the issue date."""
    if issue is None:
        return None
    issued = date.fromisoformat(issue.value)
    for match in labels.PAYMENT_TERMS_DAYS.finditer(layout.text):
        if dates.on_discount_line(match.start()):
            continue
        days = int(match.group(1) or match.group(2))
        return Found((issued + timedelta(days=days)).isoformat(), None, 0.5)
    if next(find_labels(labels.PAYABLE_IMMEDIATELY, layout.text), None):
        return Found(issued.isoformat(), None, 0.45)
    return None


def find_due_date(layout: Layout, dates: DatesInText, issue: Found[str] | None) -> Found[str] | None:
    text = layout.text
    earliest = issue.value if issue else "0000-00-00"
    for pattern, confidence in ((labels.DUE_DATE, 0.85), (labels.DUE_DATE_PHRASE, 0.7)):
        is_phrase = pattern is labels.DUE_DATE_PHRASE
        for match in find_labels(pattern, text):
            if dates.on_discount_line(match.start()):
                continue
            if is_phrase and dates.follows_a_date(match.start()):
                continue
            found = dates.first_after(match.start(), match.end())
            # A "due date" before the invoice was issued is some other date under a similar label.
            if found and found.iso >= earliest:
                return Found(found.iso, (found.start, found.end), confidence)
    return _terms_due_date(layout, dates, issue)
