"""Line items, best effort: rows under an item-table header that carry a description and money.

Which number is the quantity, the unit price and the line amount is decided by arithmetic where possible
(quantity x unit price = amount), since column order differs between layouts and languages.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from agents.extraction import labels
from agents.extraction.amounts import Amount, DecimalMark, find_amounts
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Cell, Layout, Line, layout_of
from agents.extraction.schemas import LineItem

_MAX_TABLE_LINES = 60
_POSITION = re.compile(r"^\d{1,3}\.?$")  # a row number ("1", "01", "3.")
_PERCENT = re.compile(r"\d\s?%")
_POSITION_HEADER = re.compile(r"^(?:pos\.?|position|nr\.?|no\.?|lp\.?|#)$", re.IGNORECASE)


def _item_words_by_line(layout: Layout) -> dict[int, set[str]]:
    """The item words of each line, lower-cased: one search of the page, not one per line (no item word spans
    a line, so the matches are the same)."""
    words: dict[int, set[str]] = {}
    for match in find_labels(labels.ITEM_HEADER_WORDS, layout.text):
        words.setdefault(layout.line_at(match.start()).number, set()).add(match.group().lower())
    return words


def _is_header(layout: Layout, line: Line, item_words: dict[int, set[str]]) -> bool:
    """Column titles of an item table: at least two item words ("Qty", "Price", ...) and no money."""
    if len(item_words.get(line.number, ())) < 2:
        return False
    return not any(amount.has_decimals for amount in find_amounts(layout.text, line.start, line.end))


def _ends_table(layout: Layout, line: Line, decimal_mark: DecimalMark | None) -> bool:
    """A totals row (a total or tax label with money on the line) closes the item table. A label without
    money is a header continuation ("MwSt." under "Ohne")."""
    cells = [cell for cell in line.cells if not _POSITION.match(cell.text)]
    if not cells or not (labels.ITEM_TABLE_END.match(cells[0].text) or labels.TOTAL_KEYWORD.match(cells[0].text)):
        return False
    return any(amount.has_decimals for amount in find_amounts(layout.text, line.start, line.end, decimal_mark))


def _row_numbers(text: str, cells: list[Cell], decimal_mark: DecimalMark | None) -> list[Amount]:
    numbers: list[Amount] = []
    for cell in cells:
        if _PERCENT.search(cell.text):
            continue
        numbers.extend(find_amounts(text, cell.start, cell.end, decimal_mark))
    return numbers


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.011")


def _quantity_first(candidates: list[Amount]) -> list[Amount]:
    """Order two factors so the quantity comes first: it is the one printed without cents, if only one is."""
    a, b = candidates
    if a.has_decimals and not b.has_decimals:
        return [b, a]
    return [a, b]


def _assign(numbers: list[Amount]) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(quantity, unit_price, amount) from a row's numbers, left to right."""
    values = [n.value for n in numbers]
    for k in range(len(values) - 1, -1, -1):
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                if k in (i, j) or values[i] == 0 and values[j] == 0:
                    continue
                if _close(values[i] * values[j], values[k]):
                    quantity, price = _quantity_first([numbers[i], numbers[j]])
                    return quantity.value, price.value, values[k]
    if len(numbers) >= 3:
        uncents = [n for n in numbers[:-1] if not n.has_decimals]
        quantity = uncents[0] if uncents else numbers[0]
        prices = [n for n in numbers[:-1] if n is not quantity]
        return quantity.value, prices[-1].value if prices else None, values[-1]
    if len(numbers) == 2:
        return None, values[0], values[1]
    return None, None, values[0] if values else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _row(layout: Layout, line: Line, decimal_mark: DecimalMark | None, numbered: bool) -> tuple[LineItem, int] | None:
    """An item from a table row; the int is how many following lines it consumed (a wrapped amount).

    `numbered` says the table's first column is a position number, so a leading integer is not a quantity.
    """
    cells = list(line.cells)
    described = [i for i, cell in enumerate(cells) if re.search(r"[^\W\d_]{2}", cell.text)]
    if not described:
        return None
    first = described[0]
    description = cells[first].text
    if labels.ITEM_TABLE_END.match(description):
        return None
    leading = cells[:first]
    if numbered and leading and _POSITION.match(leading[0].text):
        leading = leading[1:]
    numbers = _row_numbers(layout.text, leading + cells[first + 1 :], decimal_mark)
    consumed = 0
    following = layout.following_lines(line.number, 1)
    if following and len(following[0].cells) == 1:
        wrapped = find_amounts(layout.text, following[0].cells[0].start, following[0].cells[0].end, decimal_mark)
        if len(wrapped) == 1 and wrapped[0].span == (following[0].cells[0].start, following[0].cells[0].end):
            numbers.append(wrapped[0])  # the amount column wrapped onto the next line
            consumed = following[0].number - line.number
    if not any(n.has_decimals for n in numbers):
        return None
    quantity, price, amount = _assign(numbers)
    item = LineItem(description=description, quantity=_text(quantity), unit_price=_text(price), amount=_text(amount))
    return item, consumed


def find_item_tables(layout: Layout, decimal_mark: DecimalMark | None) -> list[list[LineItem]]:
    """The items of each table separately (a header starts a table), so a table can be checked on its own."""
    # Copies: the tables are remembered, and a caller may change the items it was given.
    return [[item.model_copy() for item in table] for table in _item_tables(layout.text, decimal_mark)]


# The extractor reports the items and the consistency check adds them up: one reading of the tables serves both,
# remembered for the two latest texts only (a text may be a megabyte).
@lru_cache(maxsize=2)
def _item_tables(text: str, decimal_mark: DecimalMark | None) -> tuple[tuple[LineItem, ...], ...]:
    layout = layout_of(text)
    tables: list[list[LineItem]] = []
    number = 0
    in_table = numbered = False
    table_lines = 0
    item_words = _item_words_by_line(layout)
    while number < len(layout.lines):
        line = layout.lines[number]
        number += 1
        if _is_header(layout, line, item_words):
            in_table, table_lines = True, 0
            numbered = bool(line.cells) and bool(_POSITION_HEADER.match(line.cells[0].text))
            tables.append([])
            continue
        if not in_table or line.is_blank:
            continue
        table_lines += 1
        if _ends_table(layout, line, decimal_mark) or table_lines > _MAX_TABLE_LINES:
            in_table = False
            continue
        row = _row(layout, line, decimal_mark, numbered)
        if row is not None:
            tables[-1].append(row[0])
            number += row[1]
    return tuple(tuple(table) for table in tables if table)


def find_line_items(layout: Layout, decimal_mark: DecimalMark | None) -> list[LineItem]:
    return [item for table in find_item_tables(layout, decimal_mark) for item in table]
