"""How much of a long text the rules read: all of an invoice, the ends of anything longer.

An invoice's fields sit in its first pages (issuer, number, dates, payee) and its last (totals, payment
details). A text longer than any invoice needs (the API accepts 1 MB, a vendor controls every character of it)
is read as its first `HEAD_CHARS` and its last `TAIL_CHARS`, cut at line ends and joined by a page break: the
rules then cost the same for 100 KB as for 1 MB, and a text built to make them slow stays cheap. What is not read
cannot be vouched for, so such a reading is always flagged `oversized_text` and goes to a person, who sees the
whole document.

The spans the rules report point into the window; `to_source` maps them back into the whole text so evidence and
grounding name the characters a reviewer will find.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.extraction.schemas import FieldEvidence, InvoiceFields

# 32 + 8 KB: about ten pages of pdftotext layout text, three times the longest invoice of the dev set (12 KB).
HEAD_CHARS = 32_000
TAIL_CHARS = 8_000
_JOIN = "\n\f\n"  # a page break: nothing on either side is read as one line or one table with the other


@dataclass(frozen=True)
class ReadingWindow:
    text: str  # what the rules read
    head: int  # characters taken from the start of the source
    tail_start: int  # where, in the source, the tail begins

    @property
    def source_length(self) -> int:
        return self.tail_start + len(self.text) - self.head - len(_JOIN)

    def to_source(self, span: tuple[int, int]) -> tuple[int, int] | None:
        """The span in the whole text; None for a span across the join (it exists only in the window)."""
        start, end = span
        if end <= self.head:
            return span
        tail_offset = self.head + len(_JOIN)
        if start >= tail_offset:
            shift = self.tail_start - tail_offset
            return start + shift, end + shift
        return None

    def flag(self) -> str:
        return (
            f"oversized_text: the text has {self.source_length:,} characters; only its first {self.head:,} and "
            f"last {self.source_length - self.tail_start:,} were read, so a person reads the rest"
        )


def reading_window(text: str) -> ReadingWindow | None:
    """The part of `text` the rules read, or None when they read all of it."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return None
    head = text.rfind("\n", 0, HEAD_CHARS) + 1 or HEAD_CHARS  # a single long line is cut where it must be
    tail_start = text.find("\n", len(text) - TAIL_CHARS) + 1 or len(text) - TAIL_CHARS
    return ReadingWindow(text=text[:head] + _JOIN + text[tail_start:], head=head, tail_start=tail_start)


def evidence_in_source(fields: InvoiceFields, window: ReadingWindow) -> InvoiceFields:
    """The fields with every evidence span pointing into the whole text."""
    evidence: dict[str, FieldEvidence] = {}
    for name, found in fields.evidence.items():
        span = window.to_source(found.span) if found.span is not None else None
        evidence[name] = FieldEvidence(confidence=found.confidence, span=span)
    return fields.model_copy(update={"evidence": evidence})
