"""The invoice number: the identifier printed after an "Invoice No"-style label or in the document's title line."""

from __future__ import annotations

import re

from agents.extraction import labels
from agents.extraction.dates import parse_date
from agents.extraction.findings import Found
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Layout

_LEADING_SEPARATORS = re.compile(r"[ \t]*(?:[:#.=\-–][ \t]*)*")
_CELL_TEXT = re.compile(r"[^\s]+(?:[ ][^\s]+)*")
_PREFIX = re.compile(r"[A-Z]{1,4}")  # "F 1234K20/1234/12": a short series letter printed apart from the digits
_TOKEN = re.compile(r"\S+")
_DIGIT = re.compile(r"\d")
# The marker of a number printed under its title: "# 1234", "No. 1234", "nº 2023-6013", "N°F-2024001".
_NUMBER_MARKER = re.compile(r"#|(?:no|nr)\.?\s|n[°º]\s*", re.IGNORECASE)
# No invoice number runs this long; reading only this far keeps the work per label constant on a long line.
_MAX_IDENTIFIER_CHARS = 80
_MAX_GAP_CHARS = 400  # a label's value may sit across a wide column gap, but not across a page


def read_identifier(text: str, start: int, end: int) -> Found[str] | None:
    """The identifier starting at `start` (after label punctuation), up to a column gap or a connecting word.

    Identifiers carry at least one digit; a short capitalised prefix is kept when digits follow it.
    """
    position = _LEADING_SEPARATORS.match(text, start, min(end, start + _MAX_GAP_CHARS))
    value_from = position.end() if position else start
    reach = min(end, value_from + _MAX_IDENTIFIER_CHARS)
    cell = _CELL_TEXT.match(text, value_from, reach)
    if cell is None:
        return None
    tokens = list(_TOKEN.finditer(cell.group()))
    kept: list[re.Match[str]] = []
    for index, token in enumerate(tokens):
        word = token.group()
        if labels.NUMBER_TERMINATORS.fullmatch(word):
            break
        if _DIGIT.search(word):
            kept.append(token)
            continue
        following = tokens[index + 1].group() if index + 1 < len(tokens) else ""
        if not kept and _PREFIX.fullmatch(word) and _DIGIT.search(following):
            kept.append(token)
            continue
        break
    if not kept or (cell.start() + kept[-1].end() == reach < end and not text[reach].isspace()):
        return None  # cut off by the reach: something longer than any invoice number
    value_start = cell.start() + kept[0].start()
    value_end = cell.start() + kept[-1].end()
    value = text[value_start:value_end].rstrip(",;:.)")
    value_end = value_start + len(value)
    if len(value) < 2 or parse_date(value) is not None:
        return None
    return Found(value, (value_start, value_end), 0.0)


def _after_label(layout: Layout, label_start: int, label_end: int) -> Found[str] | None:
    """The value right of the label, else the value printed under it."""
    line = layout.line_at(label_start)
    found = read_identifier(layout.text, label_end, line.end)
    if found is not None:
        return found
    cell = layout.cell_at(label_start)
    if cell is None or cell.end > label_end + 2:
        return None  # the label shares its cell with other words: its value is not below it
    # A label alone in its cell heads a column ("Invoice Number   Invoice Date" over "INV-42   Mar 5, 2024").
    for below in layout.cells_below(line.number, cell.column, cell.column_end, max_lines=1):
        found = read_identifier(layout.text, below.start, below.end)
        if found is not None:
            return found
    return None


def find_invoice_number(layout: Layout) -> Found[str] | None:
    text = layout.text
    for match in find_labels(labels.INVOICE_NUMBER, text):
        found = _after_label(layout, match.start(), match.end())
        if found is not None:
            return Found(found.value, found.span, 0.9)
    for match in find_labels(labels.TITLED_NUMBER, text):
        found = read_identifier(text, match.end(), layout.line_at(match.start()).end)
        if found is not None:
            return Found(found.value, found.span, 0.85)
    # "Rechnung 2024-0815", "Invoice INV-0042": the title itself followed by the number.
    for match in labels.TITLE_THEN_NUMBER.finditer(text):
        found = read_identifier(text, match.end(), layout.line_at(match.start()).end)
        if found is not None and not re.fullmatch(r"\d{1,2}|\d+[.,]\d{2}", found.value):
            return Found(found.value, found.span, 0.5)
    # A title cell alone ("INVOICE") with "# 1234" printed underneath it.
    for line in layout.lines:
        for cell in line.cells:
            if not labels.DOCUMENT_TITLE.fullmatch(cell.text):
                continue
            for below in layout.cells_below(line.number, cell.column, cell.column_end, max_lines=2, slack=8):
                marker = _NUMBER_MARKER.match(below.text)
                if marker:
                    found = read_identifier(text, below.start + marker.end(), below.end)
                    if found is not None:
                        return Found(found.value, found.span, 0.6)
    return None
