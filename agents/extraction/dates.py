"""Calendar dates in the written and numeric forms invoices use, in English, German, French, Dutch and Polish."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from agents.extraction.label_search import find_labels

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "jänner", "janvier", "janv", "januari", "stycznia", "styczeń", "styczen", "sty"),
    2: ("february", "feb", "februar", "février", "fevrier", "févr", "fevr", "februari", "lutego", "luty", "lut"),
    3: ("march", "mar", "märz", "maerz", "mär", "mrz", "mars", "maart", "mrt", "marca", "marzec"),
    4: ("april", "apr", "avril", "avr", "kwietnia", "kwiecień", "kwiecien", "kwi"),
    5: ("may", "mai", "mei", "maja", "maj"),
    6: ("june", "jun", "juni", "juin", "czerwca", "czerwiec", "cze"),
    7: ("july", "jul", "juli", "juillet", "juil", "lipca", "lipiec", "lip"),
    8: ("august", "aug", "août", "aout", "augustus", "sierpnia", "sierpień", "sierpien"),
    9: ("september", "sep", "sept", "septembre", "września", "wrzesień", "wrzesnia", "wrz"),
    10: ("october", "oct", "oktober", "okt", "octobre", "października", "październik", "pazdziernika", "paź"),
    11: ("november", "nov", "novembre", "listopada", "listopad", "lis"),
    12: ("december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "grudnia", "grudzień", "grudzien", "gru"),
}
MONTHS: dict[str, int] = {name: number for number, names in _MONTH_NAMES.items() for name in names}

_MONTH = "(?P<month>" + "|".join(re.escape(n) for n in sorted(MONTHS, key=len, reverse=True)) + r")(?![^\W\d_])\.?"
_YEAR = r"(?P<year>(?:19|20)\d{2})(?!\d)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ymd",
        re.compile(r"(?<![\d.])(?P<year>(?:19|20)\d{2})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)"),
    ),
    (
        "numeric",
        re.compile(
            r"(?<![\d.,/])(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?![\d,]|\.\d)"
        ),
    ),
    # "5 March 2024", "5. März 2024", "1er juillet 2024", "13 Sep, 2022", "5th of March 2024"
    (
        "day_month",
        re.compile(
            rf"(?<![\d.,])(?P<day>\d{{1,2}})(?:st|nd|rd|th|er)?\.?[ \t]*(?:of[ \t]+)?{_MONTH}[ \t]*,?[ \t]*{_YEAR}",
            re.IGNORECASE,
        ),
    ),
    # "March 5, 2024", "Mar 5th 2024", "August 3 , 2014"
    (
        "month_day",
        re.compile(
            rf"(?<![^\W\d_]){_MONTH}[ \t]*(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)[ \t]*,?[ \t]*{_YEAR}",
            re.IGNORECASE,
        ),
    ),
)
_NAMED_MONTH = frozenset({"day_month", "month_day"})
# Wherever _YEAR matches, this does too: it finds the lines a date with its month in words can be on.
_YEAR_LIKE = re.compile(r"(?:19|20)\d{2}(?!\d)")
_CHUNK = 64_000
# A state and ZIP ("Seattle, WA 98109") or the country by name: the document was laid out for US readers.
_US_SIGNALS = re.compile(r",\s[A-Z]{2}\s\d{5}(?:-\d{4})?\b|\bUnited States\b|\bUSA\b|\bU\.S\.A?\.")


@dataclass(frozen=True)
class DateFound:
    iso: str
    start: int
    end: int

    @property
    def value(self) -> date:
        return date.fromisoformat(self.iso)


def infer_day_first(text: str) -> bool:
    """Whether "03/05/2024" means 3 May in this document.

    A slashed date with a first part above 12 proves day-first, one with a second part above 12 proves
    month-first; otherwise a US address or "$" without another currency suggests month-first.
    """
    for match in re.finditer(r"(?<!\d)(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})(?!\d)", text):
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    dollars_only = "$" in text and not re.search(r"[€£]|\b(?:EUR|GBP|CHF|PLN)\b", text)
    # The cheap test first: a page without dollars need not be searched for a US address.
    return not (dollars_only and _US_SIGNALS.search(text))


def _build(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        built = date(year, month, day)
    except ValueError:
        return None
    return built if 1990 <= built.year <= 2100 else None


def _resolve(kind: str, match: re.Match[str], day_first: bool) -> date | None:
    if kind == "ymd":
        return _build(int(match.group("year")), int(match.group("month")), int(match.group("day")))
    if kind == "numeric":
        a, b, year = int(match.group("a")), int(match.group("b")), int(match.group("year"))
        # Dots and dashes are day-first everywhere they are used; only the slash is ambiguous.
        if match.group("sep") != "/" or day_first:
            return _build(year, b, a) or _build(year, a, b)
        return _build(year, a, b) or _build(year, b, a)
    month = MONTHS.get(match.group("month").lower().rstrip("."))
    if month is None:
        return None
    return _build(int(match.group("year")), month, int(match.group("day")))


def _chunks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] in pieces of about _CHUNK characters cut at line ends. A date never spans a line, and
    one regex scan holds the GIL until it returns: on a megabyte, long enough to stall the event loop's thread."""
    pieces: list[tuple[int, int]] = []
    while start < end:
        cut = text.find("\n", min(start + _CHUNK, end), end)
        cut = end if cut < 0 else cut
        pieces.append((start, cut))
        start = cut
    return pieces


def _year_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The lines of text[start:end] that print a four-digit year, as (start, end) without their newline.

    A date with its month in words ends in such a year and never spans a line, so only these lines can hold
    one: trying the hundred month names at every character of the page was most of the time a reading took.
    """
    lines: list[tuple[int, int]] = []
    for year in _YEAR_LIKE.finditer(text, start, end):
        if lines and year.start() < lines[-1][1]:
            continue  # a second year on a line already listed
        line_end = text.find("\n", year.end(), end)
        lines.append((max(start, text.rfind("\n", start, year.start()) + 1), end if line_end < 0 else line_end))
    return lines


def find_dates(text: str, start: int = 0, end: int | None = None, day_first: bool | None = None) -> list[DateFound]:
    """Every date in text[start:end], earliest first, overlapping readings resolved in favour of the longest."""
    if start == 0 and end is None and day_first is None:
        return list(_whole_text_dates(text))  # a copy: the memo's tuple is shared by every reader of this text
    return _find_dates(text, start, len(text) if end is None else end, day_first)


# A reading looks for the dates of the whole text several times (the issue and due dates, the totals, grounding,
# the consistency check): the two latest texts are remembered, never more, since a text may be a megabyte.
@lru_cache(maxsize=2)
def _whole_text_dates(text: str) -> tuple[DateFound, ...]:
    return tuple(_find_dates(text, 0, len(text), None))


def _find_dates(text: str, start: int, end: int, day_first: bool | None) -> list[DateFound]:
    if day_first is None:
        day_first = infer_day_first(text)
    found: list[DateFound] = []
    for chunk_start, chunk_end in _chunks(text, start, end):
        for kind, pattern in _PATTERNS:
            windows = _year_lines(text, chunk_start, chunk_end) if kind in _NAMED_MONTH else [(chunk_start, chunk_end)]
            for window_start, window_end in windows:
                for match in find_labels(pattern, text, window_start, window_end):
                    resolved = _resolve(kind, match, day_first)
                    if resolved is not None:
                        found.append(DateFound(resolved.isoformat(), match.start(), match.end()))
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    kept: list[DateFound] = []
    for candidate in found:
        if kept and candidate.start < kept[-1].end:
            continue
        kept.append(candidate)
    return kept


def parse_date(printed: str, day_first: bool = True) -> str | None:
    """ISO form of a string that is exactly one date, else None."""
    stripped = printed.strip()
    dates = find_dates(stripped, day_first=day_first)
    if len(dates) == 1 and dates[0].start == 0 and dates[0].end == len(stripped.rstrip(".")):
        return dates[0].iso
    return None
