"""Postal address blocks at the top of the page: a name printed directly above its street or postcode line.

Letterheads and address windows print a party as name, street, postcode and city, often followed by the
party's tax ids ("N° TVA", "USt-IdNr.", "SIRET", "NIP"). Which block is the issuer's is decided by the vendor
rules, from the cues read here: whether the block states a tax id, and where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.extraction import labels
from agents.extraction.company_names import (
    SEGMENT_SEPARATOR,
    clean_name,
    looks_like_address,
    looks_like_name,
    strip_title_words,
)
from agents.extraction.layout import Cell, Layout, Line

# The first page's top: letterhead, address window and the invoice's header fields fit in this many lines.
_TOP_LINES = 30
# A block is the name, a few address lines and its ids; blank lines may part the address from the ids.
_BLOCK_LINES = 9
_NEXT_LINES = 2
# A page names a few parties; past this many blocks it is a list, and each block is looked up in the whole text.
_MAX_BLOCKS = 20
_COLUMN_SLACK = 4


@dataclass(frozen=True)
class AddressBlock:
    name: str
    span: tuple[int, int]
    line_no: int
    states_tax_id: bool  # a tax-id label is printed in the block, under the address


def _cell_under(line: Line, cell: Cell) -> Cell | None:
    """The cell of `line` in the same column as `cell`: left-aligned, or right-aligned under its end."""
    for under in line.cells_overlapping(cell.column - _COLUMN_SLACK, cell.column_end + _COLUMN_SLACK):
        aligned_left = abs(under.column - cell.column) <= _COLUMN_SLACK
        aligned_right = abs(under.column_end - cell.column_end) <= _COLUMN_SLACK
        if aligned_left or aligned_right:
            return under
    return None


def _first_under(lines: list[Line], cell: Cell) -> Cell | None:
    """The next cell in the column: a line that prints only in another column (the customer's block beside
    this one) does not part a name from its street."""
    for line in lines:
        under = _cell_under(line, cell)
        if under is not None:
            return under
    return None


def _states_tax_id(layout: Layout, cell: Cell) -> bool:
    blanks = 0
    for line in layout.lines[cell.line_no + 1 : cell.line_no + 1 + _BLOCK_LINES]:
        if line.is_blank:
            blanks += 1
            if blanks > 2:
                return False
            continue
        under = line.cells_overlapping(cell.column - _COLUMN_SLACK, cell.column_end + _COLUMN_SLACK)
        if any(labels.TAX_ID.search(found.text) for found in under[:2]):
            return True
    return False


def address_blocks(layout: Layout) -> list[AddressBlock]:
    """Every name-like cell near the top that has a street or postcode line directly under it."""
    found: list[AddressBlock] = []
    top = layout.lines[:_TOP_LINES]
    for number, line in enumerate(top):
        for cell in line.cells:
            if len(found) >= _MAX_BLOCKS:
                return found
            under = _first_under(top[number + 1 : number + 1 + _NEXT_LINES], cell)
            if under is None or not looks_like_address(under.text):
                continue
            name = clean_name(strip_title_words(SEGMENT_SEPARATOR.split(cell.text)[0]))
            if not looks_like_name(name):
                continue
            start = cell.start + max(cell.text.find(name), 0)
            found.append(AddressBlock(name, (start, start + len(name)), line.number, _states_tax_id(layout, cell)))
    return found
