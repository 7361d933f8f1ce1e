"""Tesseract, run on one page image: the words it read, where they stand, how sure it was and how visible they are.

Tesseract is an external program (Debian `tesseract-ocr` plus one data package per language), called through
pytesseract. Its absence is an operator's problem, not the sender's: it becomes a 503 naming the package to install,
never a stack trace. Each call is bounded by a timeout, so a hostile image cannot hold a worker thread for long.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache

import pytesseract
from PIL import Image

from agents.extraction.pdf import UnreadableDocument
from finance.errors import TreasurerError

# The languages of the invoices Treasurer reads. Each one costs time on every page (all five: about twice the
# time of English alone), but a German or Polish invoice read with English data loses its umlauts and ogoneks.
OCR_LANGUAGES = "eng+deu+fra+nld+pol"
# A clean A4 page takes 2 to 6 s on one core; a page that takes ten times that is hostile or hopeless.
PAGE_TIMEOUT_SECONDS = 60
# --psm 6: one uniform block of text. Tesseract then keeps every printed line, table rows included, as one line
# (page segmentation modes that look for columns split a row's cells into separate blocks, losing the row).
_CONFIG = "--psm 6"
# Tesseract's OpenMP threads fight each other, and the API's other threads, for the cores: on two cores a page
# took 1.5 to 2 times as long with them. One thread per page; concurrency comes from concurrent uploads.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
# Darker than this (of 255) is ink, not paper: a smudged or blurred stroke still reaches 140-170, paper
# scanned grey stays above 220. A few such pixels, not one, so a speck of dust is not taken for a character.
_INK_LEVEL = 192
_INK_PIXELS = 3
# Pixels left clear next to a word's box, where antialiasing of its own glyphs still shows.
_PAD = 2

_INSTALL_HINT = (
    "install Debian's tesseract-ocr with tesseract-ocr-eng, -deu, -fra, -nld and -pol on the server, "
    "or send a text PDF or the invoice's text"
)


class OcrUnavailable(TreasurerError):
    """The server cannot read scans: tesseract or one of its language packages is missing."""

    status_code = 503
    code = "ocr_unavailable"


@dataclass(frozen=True)
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float  # tesseract's 0-100 certainty about the whole word
    line: tuple[int, int, int]  # (block, paragraph, line): the printed line the word belongs to
    contrast: int  # lightest minus darkest grey level in the word's box: faint print has little
    ink_beside: bool = False  # unread marks touch the word: characters the OCR dropped (a smudged "1,250.00" -> "1")


def read_words(image: Image.Image) -> list[Word]:
    """The words tesseract reads on `image` (a page), in reading order."""
    _check_languages(OCR_LANGUAGES)
    grey = image.convert("L")
    try:
        data = pytesseract.image_to_data(
            grey,
            lang=OCR_LANGUAGES,
            config=_CONFIG,
            output_type=pytesseract.Output.DICT,
            timeout=PAGE_TIMEOUT_SECONDS,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(
            f"scans cannot be read here: the tesseract program is not installed; {_INSTALL_HINT}"
        ) from exc
    except pytesseract.TesseractError as exc:
        raise UnreadableDocument(f"OCR could not read this scan ({exc.message}); send a text PDF") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise UnreadableDocument(
            f"OCR gave up on a page after {PAGE_TIMEOUT_SECONDS} s; send a text PDF or a cleaner scan"
        ) from exc
    words = []
    for index, text in enumerate(data["text"]):
        confidence = float(data["conf"][index])
        if confidence < 0 or not text.strip():  # a block, paragraph or line record, or an empty box
            continue
        box = (data["left"][index], data["top"][index], data["width"][index], data["height"][index])
        words.append(
            Word(
                text=text.strip(),
                left=box[0],
                top=box[1],
                width=box[2],
                height=box[3],
                confidence=confidence,
                line=(data["block_num"][index], data["par_num"][index], data["line_num"][index]),
                contrast=_contrast(grey, box),
            )
        )
    return _mark_ink_beside(grey, words)


def _check_languages(languages: str) -> None:
    # Tesseract only warns about a missing language and reads on without it: a Polish invoice would be read
    # with English data and lose its letters, silently. So the languages are checked, once per process.
    missing = set(languages.split("+")) - _installed_languages()
    if missing:
        raise OcrUnavailable(
            f"scans cannot be read here: tesseract lacks a language ({', '.join(sorted(missing))}); {_INSTALL_HINT}"
        )


@cache
def _installed_languages() -> frozenset[str]:
    try:
        return frozenset(pytesseract.get_languages())
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(
            f"scans cannot be read here: the tesseract program is not installed; {_INSTALL_HINT}"
        ) from exc


def _mark_ink_beside(grey: Image.Image, words: list[Word]) -> list[Word]:
    lines: dict[tuple[int, int, int], list[int]] = {}
    for index, word in enumerate(words):
        lines.setdefault(word.line, []).append(index)
    for indexes in lines.values():
        row = sorted(indexes, key=lambda index: words[index].left)
        for position, index in enumerate(row):
            word = words[index]
            before = words[row[position - 1]].left + words[row[position - 1]].width if position else None
            after = words[row[position + 1]].left if position + 1 < len(row) else None
            if _ink_beside(grey, word, before, after):
                words[index] = replace(word, ink_beside=True)
    return words


def _ink_beside(grey: Image.Image, word: Word, before: int | None, after: int | None) -> bool:
    # Looks two characters' width to each side, short of the neighbouring word, in the middle of the word's
    # height only: rules above or below a row (underlines, table borders) are not read as dropped characters.
    reach = 2 * max(word.width // max(len(word.text), 1), 1)
    top, bottom = word.top + word.height // 5, word.top + word.height - word.height // 5
    right = word.left + word.width
    strips = [
        (max(word.left - reach, (before or 0) + _PAD, 0), word.left - _PAD),
        (right + _PAD, min(right + reach, (after if after is not None else grey.width) - _PAD, grey.width)),
    ]
    for start, end in strips:
        if end - start >= 2 and bottom > top:
            dark = sum(grey.crop((start, top, end, bottom)).histogram()[:_INK_LEVEL])
            if dark >= _INK_PIXELS:
                return True
    return False


def _contrast(grey: Image.Image, box: tuple[int, int, int, int]) -> int:
    left, top, width, height = box
    # A margin of two pixels takes in the paper around the glyphs; kept inside the image, where crop would pad black.
    frame = (max(left - 2, 0), max(top - 2, 0), min(left + width + 2, grey.width), min(top + height + 2, grey.height))
    darkest, lightest = grey.crop(frame).getextrema()
    return int(lightest) - int(darkest)
