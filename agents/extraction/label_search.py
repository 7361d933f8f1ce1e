"""Label patterns found without trying every alternative at every character of the page.

A label pattern is an alternation of tens of words, case-insensitive and behind a lookbehind, so the regex engine
cannot skip ahead: it enters every alternative at every character, and those scans were most of a reading's
time. Every alternative starts with one of a few letters, though. A one-character pattern with the same
lookbehind and those letters (the same flags, so the same case folding) finds, in one cheap pass, the only
places a label can start; the label pattern is then tried at those places alone. The matches are exactly
`pattern.finditer(text)`'s: the same leftmost, non-overlapping matches, found at fewer places.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parser
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Opcodes that consume no character: skipping them over-approximates where a match can start, never misses one.
_ZERO_WIDTH = {sre.ASSERT, sre.ASSERT_NOT, sre.AT}


# The class of a letter, `[^\W\d_]`, as the parser reads it: labels like "[^\W\d_]*betrag" open with it.
_LETTER = sre_parser.parse(r"[^\W\d_]").data[0]
_ANY_LETTER = -1  # in a set of first characters: any letter
_ANY_DIGIT = -2  # ... any digit (`\d`): amounts open with one
_DIGIT = sre_parser.parse(r"\d").data[0]
_FOLDED = 1 << 21  # added to a code point read under a local (?i:...): past the last code point, so never one


def _first_chars(items: Any, folded: int = 0) -> set[int] | None:
    """The code points (or _ANY_LETTER) a match of this parsed sequence can start with; None if unknown.
    Code points that only a local (?i:...) group matches in any case carry the _FOLDED mark."""
    for index, (op, arg) in enumerate(items):
        if op in _ZERO_WIDTH:
            continue
        if op is sre.LITERAL:
            return {arg + folded}
        if (op, arg) == _LETTER and not folded:
            return {_ANY_LETTER}
        if (op, arg) == _DIGIT:
            return {_ANY_DIGIT}
        if op is sre.IN and all(item is sre.LITERAL for item, _ in arg):
            return {code + folded for _, code in arg}  # a class of single characters, "[-−–]"
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, body = arg
            if add_flags not in (0, re.IGNORECASE) or del_flags or body.getwidth()[0] == 0:
                return None
            return _first_chars(body, _FOLDED if add_flags else folded)
        if op is sre.BRANCH:
            found: set[int] = set()
            for branch in arg[1]:
                first = _first_chars(branch, folded) if branch.getwidth()[0] > 0 else None
                if first is None:
                    return None
                found |= first
            return found
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            first = _first_chars(arg[2], folded)
            if first is None or arg[0] >= 1:
                return first
            rest = _first_chars(items[index + 1 :], folded)  # the repeat may match nothing: what follows may start it
            return None if rest is None else first | rest
        return None
    return None


@dataclass(frozen=True)
class _StartFinder:
    scan: re.Pattern[str]  # one character where the pattern can start, its lookbehind included
    first: re.Pattern[str]  # the same character without the lookbehind
    # The lookbehind says "no letter before", and no digit or blank can start a match: the starts are among the
    # entries of the text's word-start index, shared by every such pattern instead of one scan each.
    indexed: bool


@lru_cache(maxsize=128)  # one entry per label pattern of the code base, a few dozen
def _start_finder(pattern: re.Pattern[str]) -> _StartFinder | None:
    """Where `pattern` can start, or None if that is not known."""
    parsed = sre_parser.parse(pattern.pattern, pattern.flags)
    # A verbose pattern may open with a line break; the one-character patterns below are written compact.
    verbose = bool(pattern.flags & re.VERBOSE)
    flags = pattern.flags & ~re.VERBOSE
    lookbehind = _LEADING_LOOKBEHIND.match(pattern.pattern.lstrip() if verbose else pattern.pattern)
    opening = parsed.data[0][0] if parsed.data else None
    if parsed.getwidth()[0] == 0 or lookbehind is None or opening not in (sre.ASSERT, sre.ASSERT_NOT):
        # Only label patterns: they open with a lookbehind (a word start) that holds for every alternative (not
        # only the first, as in "(?<!x)a|b"), and never match empty.
        return None
    first = _first_chars(parsed.data)
    if first is None:
        return None
    plain = "".join(re.escape(chr(code)) for code in sorted(first) if 0 <= code < _FOLDED)
    folded = "".join(re.escape(chr(code - _FOLDED)) for code in sorted(first) if code >= _FOLDED)
    classes = [f"[{plain}]"] if plain else []
    classes += [f"(?i:[{folded}])"] if folded else []
    classes += [r"[^\W\d_]"] if _ANY_LETTER in first else []
    classes += [r"\d"] if _ANY_DIGIT in first else []
    one_char = f"(?:{'|'.join(classes)})"
    # Case folding pairs letters with letters only, so a digit or blank could start a match only as itself.
    literals = first - {_ANY_LETTER, _ANY_DIGIT}
    no_digit_or_blank = _ANY_DIGIT not in first and not any(_DIGIT_OR_BLANK.match(chr(c % _FOLDED)) for c in literals)
    return _StartFinder(
        scan=re.compile(lookbehind.group() + one_char, flags),
        first=re.compile(one_char, flags),
        indexed=lookbehind.group() in _NO_LETTER_BEFORE and no_digit_or_blank,
    )


# An opening lookbehind of one character class, as the label patterns write it: `(?<![^\W\d_])`, `(?<![^\s,])`.
_LEADING_LOOKBEHIND = re.compile(r"\(\?<[!=]\[[^\]\[]*\]\)")
_NO_LETTER_BEFORE = frozenset({r"(?<![^\W\d_])", r"(?<![^\s,])"})
_DIGIT_OR_BLANK = re.compile(r"[\d\s]")
# Every character but a digit, a blank or a letter that follows a letter: a word's first letter, any other sign.
_WORD_START = re.compile(r"[^\W\d_]+|[^\w\s]|_")


@dataclass(frozen=True)
class _WordStarts:
    offsets: list[int]  # every offset `_WORD_START` finds, in order
    chars: str  # the character at each of them: searching this short string finds a pattern's starts at once


@lru_cache(maxsize=2)  # the two latest texts: one reading looks for tens of label patterns in the same text
def _word_starts(text: str) -> _WordStarts:
    offsets = [found.start() for found in _WORD_START.finditer(text)]
    return _WordStarts(offsets, "".join([text[offset] for offset in offsets]))


def label_starts(pattern: re.Pattern[str], text: str) -> list[int] | None:
    """Every offset where a match of `pattern` can start (some are false alarms), or None if it cannot tell."""
    finder = _start_finder(pattern)
    if finder is None:
        return None
    if not finder.indexed:
        return [found.start() for found in finder.scan.finditer(text)]
    index = _word_starts(text)
    return [index.offsets[found.start()] for found in finder.first.finditer(index.chars)]


def find_labels(
    pattern: re.Pattern[str], text: str, pos: int = 0, endpos: int | None = None
) -> Iterator[re.Match[str]]:
    """Exactly `pattern.finditer(text, pos, endpos)`, trying the pattern only where a match can start."""
    endpos = len(text) if endpos is None else min(endpos, len(text))
    finder = _start_finder(pattern)
    if finder is None:
        yield from pattern.finditer(text, pos, endpos)
        return
    starts: Iterable[int]
    if finder.indexed and pos == 0 and endpos == len(text):
        starts = label_starts(pattern, text) or []
    else:
        # One at a time: a caller that wants the first match only reads no further.
        starts = (found.start() for found in finder.scan.finditer(text, pos, endpos))
    resume = pos
    for position in starts:
        if position < resume:
            continue  # inside the previous match, which finditer would not look into either
        match = pattern.match(text, position, endpos)
        if match is not None:
            resume = match.end()
            yield match
