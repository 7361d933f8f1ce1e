"""OCR words laid out as text the way `pdftotext -layout` lays out a PDF, remembering where each doubtful word went.

The extractors split columns on runs of two or more spaces and read each page up to its form feed (see
agents/extraction/pdf.py). So each word is put back at the column its position on the page gives it, measured in
the page's average character width, words of one phrase stay one space apart, and vertical gaps become blank
lines. The character span of every word the confidence rules doubt is recorded, so a value read from it is known
to be doubtful when the invoice is extracted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median

from agents.extraction.ocr import Word

Span = tuple[int, int]

# The gap between two words of a phrase is one space: in a monospace font about 1.2 character widths between
# their ink (the glyphs' side bearings), in a proportional one less. Two spaces measure 2.2 and more. A gap under
# this many character widths is one space; above it the word is placed at its column, at least two spaces on.
_PHRASE_GAP = 1.8
# pdftotext keeps at most a few blank lines for a vertical gap; more would only stretch the text.
_MAX_BLANK_LINES = 3


@dataclass
class OcrText:
    text: str = ""
    doubtful: list[Span] = field(default_factory=list)  # [start, end) of each doubtful word in `text`


def lay_out(pages: Sequence[Sequence[Word]], doubtful: Callable[[Word, Sequence[Word]], bool]) -> OcrText:
    """The pages' words as text, each page ended by "\\n\\f" as pdftotext ends it; `doubtful(word, page)` marks
    the words whose spans are recorded."""
    result = OcrText()
    for words in pages:
        _add_page(result, words, doubtful)
    return result


def _add_page(result: OcrText, words: Sequence[Word], doubtful: Callable[[Word, Sequence[Word]], bool]) -> None:
    lines = _lines(words)
    char_width = _char_width(words)
    origin = min((word.left for word in words), default=0)
    pitch = _line_pitch(lines)
    previous_top: int | None = None
    text_lines: list[str] = []
    offset = len(result.text)
    for line in lines:
        top = min(word.top for word in line)
        if previous_top is not None and pitch:
            blanks = min(_MAX_BLANK_LINES, max(0, round((top - previous_top) / pitch) - 1))
            text_lines.extend([""] * blanks)
            offset += blanks
        previous_top = top
        rendered, spans = _render_line(line, origin, char_width)
        for (start, end), word in zip(spans, line, strict=True):
            if doubtful(word, words):
                result.doubtful.append((offset + start, offset + end))
        text_lines.append(rendered)
        offset += len(rendered) + 1
    result.text += "\n".join(text_lines) + "\n\f"


def _lines(words: Sequence[Word]) -> list[list[Word]]:
    grouped: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        grouped.setdefault(word.line, []).append(word)
    lines = [sorted(line, key=lambda word: word.left) for line in grouped.values()]
    # Top to bottom as printed, whatever order tesseract's blocks came in.
    return sorted(lines, key=lambda line: median(word.top + word.height for word in line))


def _render_line(line: Sequence[Word], origin: int, char_width: float) -> tuple[str, list[Span]]:
    text = ""
    spans: list[Span] = []
    previous_right: int | None = None
    for word in line:
        column = max(0, round((word.left - origin) / char_width))
        if previous_right is None:
            text = " " * column
        elif (word.left - previous_right) / char_width < _PHRASE_GAP:
            text += " "
        else:
            text += " " * max(2, column - len(text))
        spans.append((len(text), len(text) + len(word.text)))
        text += word.text
        previous_right = word.left + word.width
    return text, spans


def _char_width(words: Sequence[Word]) -> float:
    # Longer words average out the narrow and wide glyphs of a proportional font.
    widths = [word.width / len(word.text) for word in words if len(word.text) >= 3]
    if not widths:
        widths = [word.width / len(word.text) for word in words]
    return max(median(widths), 1.0) if widths else 1.0


def _line_pitch(lines: Sequence[Sequence[Word]]) -> float:
    tops = [min(word.top for word in line) for line in lines]
    steps = [later - earlier for earlier, later in zip(tops, tops[1:], strict=False) if later > earlier]
    # The smallest common step is the line spacing; the median of the steps is a robust estimate of it.
    return float(median(steps)) if steps else 0.0
