"""What a document calls itself when it is not a plain invoice: a credit note, a correction or a reminder.

None of them is a new bill to pay. A credit note is money the vendor owes us; a correction replaces a bill that
may already be paid (a "corrected invoice" can raise a paid 12.00 to 4,980.00 under the same number); a
reminder repeats a bill that may already be paid. The title is read only where a title stands, at the start
of a cell and followed by nothing, a number or a colon, so "avoir" the French verb or "a friendly reminder" in
a sentence is not a document kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.extraction.layout import Layout

_KINDS: dict[str, tuple[str, ...]] = {
    "credit_note": (
        "credit note", "credit memo", "creditnote", "credit nota", "creditnota", "creditfactuur", "gutschrift",
        "gutschriftsanzeige", "avoir", "facture d'avoir", "facture d’avoir", "note de crédit", "note de credit",
        "nota kredytowa", "nota uznaniowa",
    ),
    "correction": (
        "corrected invoice", "correction invoice", "invoice correction", "correction", "revised invoice",
        "amended invoice", "rechnungskorrektur", "korrigierte rechnung", "korrekturrechnung", "stornorechnung",
        "storno", "facture rectificative", "facture corrigée", "facture corrigee", "gecorrigeerde factuur",
        "correctiefactuur", "faktura korygująca", "korekta faktury", "korekta",
    ),
    "reminder": (
        "payment reminder", "reminder", "final reminder", "dunning letter", "dunning notice", "dunning",
        "past due notice", "overdue notice", "final notice", "zahlungserinnerung", "mahnung", "letzte mahnung",
        "rappel", "relance", "lettre de relance", "rappel de paiement", "betalingsherinnering", "herinnering",
        "aanmaning", "przypomnienie o płatności", "przypomnienie", "wezwanie do zapłaty", "monit",
    ),
}  # fmt: skip
_WHY = {
    "credit_note": "a credit note is money owed to us, never a bill to pay",
    "correction": "a correction replaces a bill that may already have been paid",
    "reminder": "a reminder repeats a bill that may already have been paid",
}
_NUMBER_MARK = r"(?:n°|nº|no\.?|nr\.?|#|number|nummer|numéro|numero|numer)"
# A kind word opening a cell (or a title), then the end of the cell, a number mark, a colon, a digit, or a few
# words naming the original ("Gutschrift zur Rechnung", "Correction of invoice").
_TITLE = {
    kind: re.compile(
        r"^(?:\d{1,2}\.[ \t]*)?(?:\d\.?[ \t]+)?(?P<title>"
        + "|".join(re.escape(p).replace(r"\ ", r"[ \t]{1,3}") for p in sorted(phrases, key=len, reverse=True))
        + rf")(?![^\W\d_])(?:$|[ \t]*(?::|\(|{_NUMBER_MARK}(?![^\W\d_])|\d)"
        r"|[ \t]+(?:zur|zu|for|of|to|de|la|du|van|voor|do|on)[ \t]+(?:rechnung|invoice|facture|factuur|faktury))",
        re.IGNORECASE,
    )
    for kind, phrases in _KINDS.items()
}


@dataclass(frozen=True)
class DocumentKind:
    kind: str  # "credit_note", "correction" or "reminder"
    title: str  # as printed
    span: tuple[int, int]

    @property
    def flag(self) -> str:
        return f"document_kind:{self.kind}: the document calls itself {self.title!r}; {_WHY[self.kind]}"


def find_document_kinds(layout: Layout) -> list[DocumentKind]:
    """Each kind the document claims, once, at its first title."""
    found: dict[str, DocumentKind] = {}
    for line in layout.lines:
        for cell in line.cells:
            for kind, pattern in _TITLE.items():
                if kind in found:
                    continue
                match = pattern.match(cell.text)
                if match:
                    start = cell.start + match.start("title")
                    found[kind] = DocumentKind(kind, match.group("title"), (start, cell.start + match.end("title")))
    return sorted(found.values(), key=lambda k: k.span)
