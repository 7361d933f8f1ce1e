"""Money amounts as printed ("1,234.56", "1.234,56", "1 234,56", "1'234.56", "€1,234.56", "USD 12.00").

Amounts become `Decimal` straight from their digits; a float would already be a different number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from agents.extraction.currencies import CURRENCY_TOKEN, code_for_token
from agents.extraction.label_search import find_labels

DecimalMark = Literal[",", "."]

_NUMBER = (
    # Thousands grouped by comma, dot, apostrophe or thin/no-break space, optionally with decimals.
    r"\d{1,3}(?:(?P<sep>[,.'’\u00a0\u202f])\d{3})(?:(?P=sep)\d{3})*(?:[.,]\d{1,4})?"
    # Grouped by a plain space: only with decimal comma ("1 234,56"), since a single space between two
    # numbers is too often a column boundary ("1 278.61" is a quantity and a price).
    r"|\d{1,3}(?:[ ]\d{3})+,\d{1,4}"
    r"|\d+(?:[.,]\d{1,4})?"
)
_AMOUNT_RE = re.compile(
    rf"""
    (?<![\w/\-.,])                            # not the tail of an identifier, date or longer number
    (?P<sign>[-−–](?=\s?(?:\d|{CURRENCY_TOKEN})))?
    (?:(?P<pre>{CURRENCY_TOKEN})[ \u00a0]?)?
    (?P<sign2>[-−])?
    (?P<number>{_NUMBER})
    (?![\d/]|[.,]\d|-\d|[ ]?%)                # not a date, a range of ids or a percentage
    (?:[ \u00a0]?(?P<post>{CURRENCY_TOKEN}))?
    """,
    re.VERBOSE,
)
_CENTS = re.compile(r"[.,]\d{2}$")
_SEPARATORS = re.compile(r"[\s'’\u00a0\u202f]")
_PLAIN_NUMBER = re.compile(r"\d[\d.,]*")
_DECIMAL_TAIL = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})*([.,])\d{2}(?!\d)")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    start: int  # span of the whole printed amount, currency marker included
    end: int
    currency: str | None
    has_decimals: bool

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def parse_number(printed: str, decimal_mark: DecimalMark | None = None) -> Decimal | None:
    """The value of a printed number, deciding which mark is the decimal point.

    With both marks present the last one is decimal. A single mark followed by exactly three digits is
    ambiguous ("1,234" vs "0,025"): the document's own decimal mark decides if known, else a thousands
    separator is assumed, except after a lone zero.
    """
    digits = _SEPARATORS.sub("", printed)
    if not _PLAIN_NUMBER.fullmatch(digits) or digits[-1] in ".,":
        return None
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        normalized = digits.replace(thousands, "").replace(decimal, ".")
    elif commas + dots == 0:
        normalized = digits
    else:
        mark = "," if commas else "."
        integer, _, fraction = digits.rpartition(mark)
        if commas + dots > 1:
            normalized = digits.replace(mark, "")
        elif len(fraction) == 3 and integer != "0" and decimal_mark != mark:
            normalized = integer + fraction
        else:
            normalized = integer + "." + fraction
    try:
        return Decimal(normalized)
    except InvalidOperation:
        return None


def parse_amount(printed: str, decimal_mark: DecimalMark | None = None) -> Decimal | None:
    """Parse one printed amount such as "€1.234,56" or "-USD 47.90"; None if it is not exactly one amount."""
    stripped = printed.strip()
    match = _AMOUNT_RE.fullmatch(stripped)
    if match is None:
        return None
    value = parse_number(match.group("number"), decimal_mark)
    if value is None:
        return None
    return -value if (match.group("sign") or match.group("sign2")) else value


def infer_decimal_mark(text: str) -> DecimalMark | None:
    """The decimal mark most amounts in the document use, judged by their two-digit cents."""
    votes = Counter(m.group(1) for m in _DECIMAL_TAIL.finditer(text))
    if not votes:
        return None
    mark, _ = votes.most_common(1)[0]
    return "," if mark == "," else "."


def find_amounts(
    text: str, start: int = 0, end: int | None = None, decimal_mark: DecimalMark | None = None
) -> list[Amount]:
    """Every amount in text[start:end], with spans in the coordinates of `text`."""
    return list(iter_amounts(text, start, end, decimal_mark))


def iter_amounts(
    text: str, start: int = 0, end: int | None = None, decimal_mark: DecimalMark | None = None
) -> Iterator[Amount]:
    """The amounts of text[start:end] one at a time, so a caller that needs the first few reads no further."""
    end = len(text) if end is None else end
    for match in find_labels(_AMOUNT_RE, text, start, end):
        value = parse_number(match.group("number"), decimal_mark)
        if value is None:
            continue
        if match.group("sign") or match.group("sign2"):
            value = -value
        marker = match.group("pre") or match.group("post")
        currency = code_for_token(marker, text) if marker else None
        # "12.00" is printed money; a bare "12" is as likely a quantity, a day or a page number.
        has_decimals = value != value.to_integral_value() or bool(_CENTS.search(match.group("number")))
        yield Amount(value, match.start(), match.end(), currency, has_decimals)
