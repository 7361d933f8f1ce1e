"""The geometry of an invoice's text: lines, and the cells that `pdftotext -layout` lays out in columns.

Invoice text comes mostly from PDFs rendered in layout mode, where a run of two or more spaces separates two
columns and a label's value may sit to its right or in the same column on a following line. Every offset kept
here is an absolute character offset into the original text, so evidence spans point back into the document.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache

# Single spaces join words of one cell; two or more (or a tab) separate columns.
_CELL = re.compile(r"[^\s]+(?:[ \u00a0][^\s]+)*")


@dataclass(frozen=True)
class Cell:
    text: str
    start: int  # absolute offset in the document
    end: int
    column: int  # offset within its line, i.e. its horizontal position
    line_no: int

    @property
    def column_end(self) -> int:
        return self.column + len(self.text)


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    start: int  # absolute offset of the line's first character

    @cached_property
    def cells(self) -> tuple[Cell, ...]:
        return tuple(
            Cell(m.group(), self.start + m.start(), self.start + m.end(), m.start(), self.number)
            for m in _CELL.finditer(self.text)
        )

    @cached_property
    def _cell_starts(self) -> list[int]:
        return [cell.start for cell in self.cells]

    @cached_property
    def _cell_column_ends(self) -> list[int]:
        return [cell.column_end for cell in self.cells]

    def cell_at(self, offset: int) -> Cell | None:
        # Bisection, not a scan: a line of a hundred thousand cells is looked up once per label on it.
        index = bisect_right(self._cell_starts, offset) - 1
        if index >= 0 and offset < self.cells[index].end:
            return self.cells[index]
        return None

    def cells_overlapping(self, column: int, column_end: int) -> list[Cell]:
        """Cells overlapping the columns [column, column_end): ordered and disjoint, so they are contiguous."""
        found: list[Cell] = []
        for index in range(bisect_right(self._cell_column_ends, column), len(self.cells)):
            if self.cells[index].column >= column_end:
                break
            found.append(self.cells[index])
        return found

    def cells_starting_in(self, column: int, column_end: int, limit: int | None = None) -> list[Cell]:
        """Cells whose first character sits in the columns [column, column_end), at most `limit` of them."""
        first = bisect_left(self._cell_starts, self.start + column)
        last = bisect_left(self._cell_starts, self.start + column_end)
        return list(self.cells[first : last if limit is None else min(last, first + limit)])

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def is_blank(self) -> bool:
        return not self.text.strip()

    def cells_after(self, offset: int) -> list[Cell]:
        return [cell for cell in self.cells if cell.start >= offset]


class Layout:
    """Lines of a document with their absolute offsets, and look-ups by offset and by column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[Line] = []
        offset = 0
        for number, raw in enumerate(text.split("\n")):
            self.lines.append(Line(number, raw, offset))
            offset += len(raw) + 1
        self._starts = [line.start for line in self.lines]

    def line_at(self, offset: int) -> Line:
        # The last line starting at or before the offset.
        return self.lines[max(bisect_right(self._starts, offset) - 1, 0)]

    def column_of(self, offset: int) -> int:
        return offset - self.line_at(offset).start

    def cell_at(self, offset: int) -> Cell | None:
        return self.line_at(offset).cell_at(offset)

    def following_lines(self, line_no: int, limit: int, skip_blank: bool = True) -> list[Line]:
        found: list[Line] = []
        # Indexing, not slicing: a slice copies every remaining line, once per label on a long document.
        for number in range(line_no + 1, len(self.lines)):
            if len(found) >= limit:
                break
            line = self.lines[number]
            if skip_blank and line.is_blank:
                continue
            found.append(line)
        return found

    def cells_below(self, line_no: int, column: int, column_end: int, max_lines: int = 2, slack: int = 3) -> list[Cell]:
        """Cells on the next non-blank lines that overlap the column range [column, column_end).

        Table headers and form labels put their value underneath; overlap (with a little slack, since
        right-aligned numbers drift) is how a reader's eye links the two.
        """
        found: list[Cell] = []
        for line in self.following_lines(line_no, max_lines):
            overlapping = line.cells_overlapping(column - slack, column_end + slack)
            # Closest first: with slack, a neighbouring column can overlap too.
            overlapping.sort(key=lambda cell: -(min(cell.column_end, column_end) - max(cell.column, column)))
            found.extend(overlapping)
        return found


# One reading lays the same text out several times (the extractor, its consistency check, the date-masked copy
# the totals and the consistency check both read): the two latest texts are kept, never more, since a text may
# be a megabyte.
@lru_cache(maxsize=2)
def layout_of(text: str) -> Layout:
    """The shared Layout of `text`; treat it as read-only, other readers of the same text hold it too."""
    return Layout(text)
