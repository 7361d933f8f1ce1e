"""The grand total: the amount next to a "total" label, told apart from subtotals, tax and balances due.

Labels are ranked by meaning. A grand total including tax ("Grand total", "Gesamtbetrag", "Total TTC") beats a
bare "Total", which beats an amount due ("Amount due", "Zahlbetrag"), because the amount due is what is left
after prepayments and is 0.00 on a paid receipt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from functools import lru_cache

from agents.extraction import labels
from agents.extraction.amounts import Amount, DecimalMark, find_amounts, iter_amounts
from agents.extraction.currencies import CURRENCY_TOKEN, CurrencyFinding, code_for_token
from agents.extraction.dates import DateFound
from agents.extraction.findings import Found
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Cell, Layout


class TotalKind(IntEnum):  # lower is stronger
    GROSS = 0
    PLAIN = 1
    DUE = 2


# Between a label and its amounts, or between two amounts of one total row: only punctuation, currency
# markers and tax-inclusion words. Any other word belongs to a different column or sentence.
_GAP = re.compile(
    rf"(?:[\s:()\-–—=|*/]|{CURRENCY_TOKEN}|(?<![^\W\d_])(?:TTC|in|incl\.?|inkl\.?|brutto|gross)(?![^\W\d_]))*",
    re.IGNORECASE,
)
_CURRENCY_IN_TEXT = re.compile(CURRENCY_TOKEN)
_MAX_LABEL_WORDS = 5  # a longer phrase is a sentence that happens to contain "total"
# Five words of a label fit in this many characters on either side of its keyword. Looking no further keeps the
# work per keyword constant, however long its line ("Total: 1 " repeated over 41 KB took a minute).
_MAX_LABEL_REACH = 120
# A total row holds a net, a tax and a gross amount; a "row" of more is a table or a list of numbers.
_MAX_ROW_AMOUNTS = 6
_COLUMN_LINES = 4  # lines under a total's column header searched for its amount


def _is_item_header(line_text: str) -> bool:
    """A line-item table header: its "Total"/"Betrag" column holds line amounts, not the invoice total.
    Words are counted once: "TOTAL HT   TOTAL TVA   TOTAL TTC" heads a totals row, not an item table."""
    return len({word.lower() for word in labels.ITEM_HEADER_WORDS.findall(line_text)}) >= 3


@dataclass(frozen=True)
class TotalFound:
    total: Found[Decimal]
    currency: CurrencyFinding | None


@dataclass(frozen=True)
class _Candidate:
    amount: Amount
    kind: TotalKind
    below: bool  # read under a column header rather than beside its label
    currency: CurrencyFinding | None


def classify_total_label(phrase: str) -> TotalKind | None:
    """What a label phrase means for the total, or None if it names a subtotal, a tax, a price or a discount."""
    if labels.TOTAL_NOT_GRAND.search(phrase):
        return None
    if labels.TAX_WORDS.search(phrase) and not labels.TAX_INCLUDED.search(phrase):
        return None
    if labels.TOTAL_DUE_PHRASE.search(phrase):
        return TotalKind.DUE
    if labels.TOTAL_GROSS_PHRASE.search(phrase):
        return TotalKind.GROSS
    if labels.TOTAL_PLAIN_PHRASE.search(phrase):
        return TotalKind.PLAIN
    return None


def _mask_dates(text: str, dates: list[DateFound]) -> str:
    """The text with dates blanked out (same length), so "August 3 , 2014" is not read as two amounts."""
    chars = list(text)
    for found in dates:
        chars[found.start : found.end] = " " * (found.end - found.start)
    return "".join(chars)


def _row_amounts(text: str, start: int, end: int, decimal_mark: DecimalMark | None) -> list[Amount]:
    """Amounts from `start` rightwards that belong to the same row: stop at the first unrelated word."""
    row: list[Amount] = []
    position = start
    while len(row) < _MAX_ROW_AMOUNTS:
        # The next amount must follow a gap of punctuation and currency markers: search no further than that.
        gap_end = _GAP.match(text, position, end).end()
        amount = next(iter_amounts(text, position, min(end, gap_end + _MAX_LABEL_REACH), decimal_mark), None)
        if amount is None or not _GAP.fullmatch(text, position, amount.start):
            break
        row.append(amount)
        position = amount.end
    return row


def _currency_near(text: str, start: int, end: int, amount: Amount) -> CurrencyFinding | None:
    if amount.currency:
        printed = _CURRENCY_IN_TEXT.search(text, amount.start, amount.end)
        return CurrencyFinding(amount.currency, printed.span() if printed else amount.span, 0.9)
    marker = _CURRENCY_IN_TEXT.search(text, start, end)
    if marker:
        code = code_for_token(marker.group(), text)
        if code:
            return CurrencyFinding(code, marker.span(), 0.85)
    return None


def _label_phrase(masked: Layout, keyword: re.Match[str]) -> tuple[Cell, int] | None:
    """The cell holding the keyword and where its label phrase ends (at the first amount, else the cell end)."""
    cell = masked.cell_at(keyword.start())
    if cell is None or keyword.start() - cell.start > _MAX_LABEL_REACH:
        return None
    reach = min(cell.end, keyword.end() + _MAX_LABEL_REACH)
    first_amount = next(iter_amounts(masked.text, keyword.end(), reach), None)
    if first_amount is None and reach < cell.end:
        return None  # no amount within a label's length: a sentence or a list that mentions "total"
    phrase_end = first_amount.start if first_amount else cell.end
    words_before = len(masked.text[cell.start : keyword.start()].split())
    words_after = len(masked.text[keyword.end() : phrase_end].split())
    if words_before + words_after > _MAX_LABEL_WORDS:
        return None
    return cell, phrase_end


def _candidates(masked: Layout, decimal_mark: DecimalMark | None) -> list[_Candidate]:
    text = masked.text
    found: list[_Candidate] = []
    covered = -1
    item_headers: dict[int, bool] = {}
    for keyword in find_labels(labels.TOTAL_KEYWORD, text):
        if keyword.start() < covered:
            continue  # "Total amount due": one phrase, several keywords
        located = _label_phrase(masked, keyword)
        if located is None:
            continue
        cell, phrase_end = located
        covered = phrase_end
        phrase = text[cell.start : phrase_end]
        kind = classify_total_label(phrase)
        if kind is None:
            continue
        line = masked.line_at(keyword.start())
        row = _row_amounts(text, phrase_end, line.end, decimal_mark)
        below = False
        if line.number not in item_headers:
            item_headers[line.number] = _is_item_header(line.text)
        if not row and phrase_end == cell.end and not item_headers[line.number]:
            # Lines that print nothing in the label's column (a paragraph wrapping beside it) do not end the column.
            under_cells = masked.cells_below(line.number, cell.column, cell.column_end, max_lines=_COLUMN_LINES)
            for under in under_cells[:2]:
                row = find_amounts(text, under.start, under.end, decimal_mark)
                if row:
                    below = True
                    break
        for amount in row:
            currency = _currency_near(text, cell.start, phrase_end, amount)
            found.append(_Candidate(amount, kind, below, currency))
    return found


# The extractor reads the total and the consistency check every total row of the same text: both read the
# candidates of one date-masked text, remembered for the two latest texts only (a text may be a megabyte).
@lru_cache(maxsize=2)
def _masked_candidates(masked_text: str, decimal_mark: DecimalMark | None) -> tuple[_Candidate, ...]:
    return tuple(_candidates(Layout(masked_text), decimal_mark))


@dataclass(frozen=True)
class TotalCandidate:
    """An amount printed on a row labelled as a total, for checks that compare every such row."""

    amount: Amount
    kind: TotalKind
    below: bool
    currency: str | None


def find_total_candidates(
    layout: Layout, dates: list[DateFound], decimal_mark: DecimalMark | None
) -> list[TotalCandidate]:
    """Every positive amount on a row labelled as a total, anywhere in the document (not only the winner)."""
    return [
        TotalCandidate(c.amount, c.kind, c.below, c.currency.code if c.currency else None)
        for c in _masked_candidates(_mask_dates(layout.text, dates), decimal_mark)
        if c.amount.value > 0
    ]


# Which rows are read first. A "Total TTC" column header over its amount still states the grand total, and
# outranks an amount due printed beside its label, which is what is left after a prepayment.
_PREFERENCE = (
    (TotalKind.GROSS, False),
    (TotalKind.GROSS, True),
    (TotalKind.PLAIN, False),
    (TotalKind.DUE, False),
    (TotalKind.PLAIN, True),
    (TotalKind.DUE, True),
)


def find_total(layout: Layout, dates: list[DateFound], decimal_mark: DecimalMark | None) -> TotalFound | None:
    candidates = [c for c in _masked_candidates(_mask_dates(layout.text, dates), decimal_mark) if c.amount.value > 0]
    if not candidates:
        return None
    for kind, below in _PREFERENCE:
        pool = [c for c in candidates if c.kind == kind and c.below == below]
        if pool:
            # Money is printed with cents; a bare integer on a total row is a quantity or an item count.
            with_cents = [c for c in pool if c.amount.has_decimals]
            pool = with_cents or pool
            # Every amount on a grand-total row (net, tax, gross) is at most the gross; across rows of the same
            # meaning the largest is the one that includes the others.
            best = max(pool, key=lambda c: c.amount.value)
            confidence = (0.9, 0.85, 0.75)[kind] - (0.25 if below else 0.0)
            return TotalFound(Found(best.amount.value, best.amount.span, confidence), best.currency)
    return None
