"""Party blocks: the text a "Bill to" or "Seller" label introduces, beside it or in its column below it.

The customer's block must be known to keep the bill-to company from being taken for the vendor, and the
seller's block is the most direct statement of who issued the invoice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from agents.extraction import labels
from agents.extraction.company_names import (
    SEGMENT_SEPARATOR,
    clean_name,
    ends_with_legal_form,
    looks_like_name,
    normalize_name,
)
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Cell, Layout

_BLOCK_LINES = 8
# A party block is a name and an address: a few cells. A page with more party labels or block cells than these
# is a list, and reading every one of them costs time per label on a long document.
_MAX_BLOCK_CELLS = 40
_MAX_PARTY_LABELS = 50
_COLON_AFTER = re.compile(r"\s*:")
_KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][\w .\-/()]{0,40}?)\s*:\s*(?P<value>.*)$")
_NAME_KEY = re.compile(
    r"^(?:name|firma|firmenname|unternehmen|company|company name|business name|nom|raison sociale|naam"
    r"|bedrijfsnaam|nazwa|nazwa firmy)$",
    re.IGNORECASE,
)
# Labels that only name a party when followed by a colon or standing alone in their cell ("FROM    TO"):
# as plain words they occur in sentences. Every one-word seller label is one of them too: specimens and
# letterheads print "SELLER TRADE NAME" or "FOURNISSEUR F SARL", where the word is part of a name, not a label.
_NEEDS_COLON = re.compile(r"^(?:from|to|vendor|supplier|customer|client|kunde|klant|recipient)$", re.IGNORECASE)


@dataclass(frozen=True)
class PartyBlock:
    label: str
    label_span: tuple[int, int]
    cells: list[Cell]  # value cells, in reading order, the label's own line first

    def first_name(self, layout: Layout) -> tuple[str, tuple[int, int]] | None:
        """The party's name: a "Name:" field if the block has one, else its first name-like line."""
        named = _name_field(layout, self)
        if named is not None:
            return named
        for index, cell in enumerate(self.cells):
            if _KEY_VALUE.match(cell.text) or cell.text.startswith(":") or _is_key_cell(layout, cell):
                continue
            candidate = clean_name(SEGMENT_SEPARATOR.split(cell.text)[0])
            if looks_like_name(candidate):
                offset = cell.text.find(candidate)
                span = (cell.start + offset, cell.start + offset + len(candidate))
                following = self.cells[index + 1] if index + 1 < len(self.cells) else None
                return _joined_with_continuation(candidate, span, cell, following)
        return None


def _joined_with_continuation(
    name: str, span: tuple[int, int], cell: Cell, following: Cell | None
) -> tuple[str, tuple[int, int]]:
    """A long name wrapped onto the next line of its column: the second line carries the legal form
    ("Hanse Gegenseitige" over "Versicherungsgesellschaft Nord a.G."), the first does not."""
    if following is None or following.line_no != cell.line_no + 1 or abs(following.column - cell.column) > 2:
        return name, span
    rest = clean_name(following.text)
    if ends_with_legal_form(name) or not ends_with_legal_form(rest) or not looks_like_name(rest):
        return name, span
    joined = f"{name} {rest}"
    return (joined, (span[0], following.end)) if looks_like_name(joined) else (name, span)


@dataclass
class CustomerRegions:
    """Spans printed as the customer's, and the customer names read there."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def add(self, cells: list[Cell]) -> None:
        for cell in cells:
            self.spans.append((cell.start, cell.end))
            match = _KEY_VALUE.match(cell.text)
            value = match.group("value") if match else cell.text
            if looks_like_name(value):
                self.names.add(normalize_name(value))

    def covers(self, span: tuple[int, int]) -> bool:
        return any(start <= span[0] < end for start, end in self.spans)

    def names_customer(self, name: str) -> bool:
        return normalize_name(name) in self.names


def _is_key_cell(layout: Layout, cell: Cell) -> bool:
    """A key printed in its own cell, with its value after a gap ("Nummer        : 12345676")."""
    line = layout.lines[cell.line_no]
    return cell.text.endswith(":") or bool(_COLON_AFTER.match(line.text, cell.column_end))


def _label_at_cell_start(layout: Layout, match: re.Match[str], *, one_word_needs_colon: bool = False) -> bool:
    cell = layout.cell_at(match.start())
    if cell is None or cell.start != match.start():
        return False
    label = match.group().strip()
    if _NEEDS_COLON.match(label) or (one_word_needs_colon and " " not in label and "\t" not in label):
        alone = cell.end == match.end()
        return alone or layout.text[match.end() : match.end() + 3].lstrip(" \t").startswith(":")
    return True


def _opens_block(text: str, pattern: re.Pattern[str]) -> bool:
    """Whether a cell starts with a party label; a one-word seller label only counts as one with a colon or
    alone ("Seller:", not "SELLER TAX REP")."""
    match = pattern.match(text)
    if match is None:
        return False
    label = match.group().strip()
    if pattern is not labels.SELLER or " " in label or "\t" in label:
        return True
    rest = text[match.end() :].lstrip(" \t")
    return not rest or rest.startswith(":")


def _block(layout: Layout, match: re.Match[str], stop_labels: re.Pattern[str]) -> PartyBlock:
    """The value cells of a party label: the rest of its cell or the next cell, then the column under it."""
    text = layout.text
    line = layout.line_at(match.start())
    label_cell = layout.cell_at(match.start())
    assert label_cell is not None
    cells: list[Cell] = []
    after = re.match(r"[ \t]*[:#]?[ \t]*", text[match.end() : label_cell.end])
    value_start = match.end() + (after.end() if after else 0)
    index = line.cells.index(label_cell)
    later = list(line.cells[index + 1 : index + 1 + _MAX_BLOCK_CELLS])
    column = label_cell.column
    if value_start < label_cell.end:
        cells.append(_sub_cell(label_cell, value_start))
    elif later and not (labels.SELLER.match(later[0].text) or labels.CUSTOMER.match(later[0].text)):
        if later[0].column - label_cell.column_end <= 30:
            cells.append(later[0])
            column = later[0].column
            later = later[1:]
    right_edge = later[0].column - 2 if later else 10_000
    left_edge = min(column, label_cell.column) - 4
    content_seen = bool(cells)
    for below in layout.lines[line.number + 1 : line.number + 1 + _BLOCK_LINES]:
        in_column = below.cells_starting_in(left_edge, right_edge, limit=_MAX_BLOCK_CELLS)
        if in_column and _opens_block(in_column[0].text, stop_labels):
            break  # the next party's block starts
        if not in_column:
            if content_seen and below.is_blank:
                break  # the block ends at its first empty line
            continue
        content_seen = True
        cells.extend(in_column)
        if len(cells) >= _MAX_BLOCK_CELLS:
            break
    return PartyBlock(match.group(), match.span(), cells[:_MAX_BLOCK_CELLS])


def _sub_cell(cell: Cell, start: int) -> Cell:
    offset = start - cell.start
    return Cell(cell.text[offset:], start, cell.end, cell.column + offset, cell.line_no)


def _name_field(layout: Layout, block: PartyBlock) -> tuple[str, tuple[int, int]] | None:
    """A "Name:" field in the block. A name wrapped over two lines prints its first line above the label,
    since layout text centres the label on the value; that orphan line is joined back."""
    for cell in block.cells:
        match = _KEY_VALUE.match(cell.text)
        if not match or not _NAME_KEY.match(match.group("key").strip()):
            continue
        line = layout.lines[cell.line_no]
        value_cells = [c for c in line.cells if c.start > cell.start]
        value = match.group("value").strip()
        start = cell.start + match.start("value")
        end = cell.end
        if not value and value_cells:
            value, start, end = value_cells[0].text, value_cells[0].start, value_cells[0].end
        if not value:
            continue
        value_column = start - line.start
        above = layout.lines[cell.line_no - 1] if cell.line_no > 0 else None
        if above is not None and len(above.cells) == 1 and abs(above.cells[0].column - value_column) <= 2:
            orphan = above.cells[0]
            if not _KEY_VALUE.match(orphan.text) and looks_like_name(orphan.text):
                value, start = f"{orphan.text} {value}", orphan.start
        return clean_name(value), (start, end)
    return None


def _party_labels(
    layout: Layout, pattern: re.Pattern[str], *, one_word_needs_colon: bool = False
) -> Iterator[re.Match[str]]:
    found = 0
    for match in find_labels(pattern, layout.text):
        if found >= _MAX_PARTY_LABELS:
            return
        if _label_at_cell_start(layout, match, one_word_needs_colon=one_word_needs_colon):
            found += 1
            yield match


def seller_blocks(layout: Layout) -> list[PartyBlock]:
    return [
        _block(layout, match, labels.CUSTOMER)
        for match in _party_labels(layout, labels.SELLER, one_word_needs_colon=True)
    ]


def customer_regions(layout: Layout) -> CustomerRegions:
    regions = CustomerRegions()
    for pattern in (labels.CUSTOMER, labels.OTHER_PARTY):
        for match in _party_labels(layout, pattern):
            block = _block(layout, match, labels.SELLER)
            # Only the first lines of a customer block hold names; further down come addresses and ids.
            regions.add(block.cells[:6])
    return regions
