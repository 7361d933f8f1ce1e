"""When an OCR reading is too doubtful to pay on: which words of a scan are doubted, and which fields that makes
uncertain.

OCR misreads digits (3 for 8, 1 for 7, a dropped decimal mark) and reads whatever is printed, faint or tiny print
included, which is where a forger hides a second amount. A value read from a doubtful word is therefore flagged
"ocr_uncertain:<field>" for the fields money follows (total, payee account, invoice number, which keys the
duplicate check), and any flag sends the invoice to a human instead of to payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from agents.extraction.ocr import Word
from agents.extraction.schemas import InvoiceFields

Span = tuple[int, int]

# Tesseract's word confidence (0-100). Clean print at 300 dpi reads at 90-96; a word it has to guess at (blur,
# low contrast, a broken glyph) falls below 80, and a digit misread while confident is rare above 85. Below
# this a word is doubted: the threshold sits between the two, erring towards a human look.
MIN_WORD_CONFIDENCE = 85.0
# Lightest minus darkest grey in the word's box, of 255. Black print on white measures over 200 even when
# scanned grey; text printed faint on purpose, or a pale copy, measures under this.
MIN_CONTRAST = 100
# A word with digits under this share of the page's usual digit height is small print. Digits all stand at
# cap height, so they are compared with each other, never with lower-case words. 7 pt beside a 10 pt body is
# flagged; an 8 pt footer is not. At 0.6, an amount in 12 px print beside 20 px was read "1.350.00" (135000)
# at full confidence and passed: OCR misreads small print while sure of itself.
MIN_DIGIT_HEIGHT_SHARE = 0.7
# The fields a misreading would pay wrongly: how much, to whom, and which bill (the duplicate check's key).
OCR_CHECKED_FIELDS: tuple[str, ...] = ("total", "payee_account", "invoice_number")


def is_doubtful(word: Word, page: Sequence[Word]) -> bool:
    """A word the OCR may have misread, or that is printed so as not to be seen."""
    if word.confidence < MIN_WORD_CONFIDENCE or word.contrast < MIN_CONTRAST:
        return True
    if not any(char.isdigit() for char in word.text):
        return False
    if word.ink_beside:
        return True
    heights = [other.height for other in page if any(char.isdigit() for char in other.text)]
    return word.height < MIN_DIGIT_HEIGHT_SHARE * median(heights)


def uncertain_fields(fields: InvoiceFields, doubtful: Sequence[Sequence[int]]) -> list[str]:
    """ "ocr_uncertain:<field>" for each checked field read from a doubtful word of the OCR text, or whose place in
    the text is unknown (a value without a span cannot be shown to rest on confident words)."""
    flags = []
    for name in OCR_CHECKED_FIELDS:
        if getattr(fields, name) is None:
            continue
        evidence = fields.evidence.get(name)
        span = evidence.span if evidence is not None else None
        if span is None or any(start < span[1] and span[0] < end for start, end in doubtful):
            flags.append(f"ocr_uncertain:{name}")
    return flags
