"""The geometry of an invoice's text: lines, and the cells that `pdftotext -layout` lays out in columns.

Invoice text comes mostly from PDFs rendered in layout mode, where a run of two or more spaces separates two
columns and a label's value may sit to its right or in the same column on a following line. Every offset kept
here is an absolute character offset into the original text, so evidence spans point back into the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

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
        # Binary search: the last line starting at or before the offset.
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return self.lines[lo]

    def column_of(self, offset: int) -> int:
        return offset - self.line_at(offset).start

    def cell_at(self, offset: int) -> Cell | None:
        for cell in self.line_at(offset).cells:
            if cell.start <= offset < cell.end:
                return cell
        return None

    def following_lines(self, line_no: int, limit: int, skip_blank: bool = True) -> list[Line]:
        found: list[Line] = []
        for line in self.lines[line_no + 1 :]:
            if len(found) >= limit:
                break
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
            overlapping = [
                cell for cell in line.cells if cell.column < column_end + slack and cell.column_end > column - slack
            ]
            # Closest first: with slack, a neighbouring column can overlap too.
            overlapping.sort(key=lambda cell: -(min(cell.column_end, column_end) - max(cell.column, column)))
            found.extend(overlapping)
        return found
