"""Amounts written out in words ("four thousand nine hundred eighty dollars", "dreihundertzwölf Euro",
"trzysta szesnaście PLN, 83/100"), found where an invoice prints them and parsed without a library.

Cheques and some national invoice formats repeat the total in words so a forged digit shows; reading the words
lets the page be checked against itself. The parser is deliberately small: whole numbers below a trillion in
English, German, French, Dutch and Polish, and cents as digits ("and 50/100", "0.00") or as words before a
cent word. A phrase counts as an amount only when it is labelled ("In words:") or followed by a currency word,
so prose such as "thirty days" is never read as money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

# kind, value: "unit" adds, "hundred" multiplies the running group, "scale" closes a group, "and" connects.
_Token = tuple[str, int]


def _vocab(units: dict[str, int], hundred: tuple[str, ...], scales: dict[str, int], ands: tuple[str, ...]) -> dict:
    vocab: dict[str, _Token] = {word: ("unit", value) for word, value in units.items()}
    vocab.update({word: ("hundred", 100) for word in hundred})
    vocab.update({word: ("scale", value) for word, value in scales.items()})
    vocab.update({word: ("and", 0) for word in ands})
    return vocab


def _numbered(words: str, start: int = 0, step: int = 1) -> dict[str, int]:
    return {word: start + i * step for i, word in enumerate(words.split()) if word != "-"}


_LANGUAGES: dict[str, dict[str, _Token]] = {
    "en": _vocab(
        {
            **_numbered("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                        "fifteen sixteen seventeen eighteen nineteen"),
            **_numbered("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10),
            "fourty": 40,
        },
        ("hundred",),
        {"thousand": 1000, "million": 10**6, "billion": 10**9},
        ("and",),
    ),
    "de": _vocab(
        {
            **_numbered("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn "
                        "fünfzehn sechzehn siebzehn achtzehn neunzehn"),
            **_numbered("zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig", 20, 10),
            "ein": 1, "eine": 1, "dreissig": 30,
        },
        ("hundert",),
        {"tausend": 1000, "million": 10**6, "millionen": 10**6, "milliarde": 10**9, "milliarden": 10**9},
        ("und",),
    ),
    "fr": _vocab(
        {
            **_numbered("zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
                        "seize"),
            **_numbered("vingt trente quarante cinquante soixante", 20, 10),
            "une": 1, "quatre-vingt": 80, "quatre-vingts": 80, "zero": 0,
        },
        ("cent", "cents"),
        {"mille": 1000, "million": 10**6, "millions": 10**6, "milliard": 10**9, "milliards": 10**9},
        ("et",),
    ),
    "nl": _vocab(
        {
            **_numbered("nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien "
                        "zestien zeventien achttien negentien"),
            **_numbered("twintig dertig veertig vijftig zestig zeventig tachtig negentig", 20, 10),
            "één": 1,
        },
        ("honderd",),
        {"duizend": 1000, "miljoen": 10**6, "miljard": 10**9},
        ("en",),
    ),
    "pl": _vocab(
        {
            **_numbered("zero jeden dwa trzy cztery pięć sześć siedem osiem dziewięć dziesięć jedenaście dwanaście "
                        "trzynaście czternaście piętnaście szesnaście siedemnaście osiemnaście dziewiętnaście"),
            **_numbered("dwadzieścia trzydzieści czterdzieści pięćdziesiąt sześćdziesiąt siedemdziesiąt "
                        "osiemdziesiąt dziewięćdziesiąt", 20, 10),
            **_numbered("sto dwieście trzysta czterysta pięćset sześćset siedemset osiemset dziewięćset", 100, 100),
            "dwie": 2,
        },
        (),
        {"tysiąc": 1000, "tysiące": 1000, "tysięcy": 1000, "milion": 10**6, "miliony": 10**6, "milionów": 10**6},
        ("i",),
    ),
}  # fmt: skip
_MAX_TOKENS = 30  # a bound on work per phrase; no real amount needs more words
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_CURRENCY_WORD = (
    r"(?:us[ \t]+)?dollars?|usd|\$|euros?|eur|€|pounds?(?:[ \t]+sterling)?|gbp|£|(?:swiss[ \t]+)?francs?|chf"
    r"|złotych|złote|złoty|zł|pln"
)
_CENT_WORD = r"(?:cents?|centimes?|groszy|grosze|ct)"
_LABEL = re.compile(
    r"(?:in[ \t]+words|in[ \t]+letters|the[ \t]+sum[ \t]+of|say|in[ \t]+worten|en[ \t]+(?:toutes[ \t]+)?lettres"
    r"|à[ \t]+la[ \t]+somme[ \t]+de|słownie|in[ \t]+woorden|zegge)[ \t]*[:\-]?[ \t]*$",
    re.IGNORECASE,
)
_AFTER = re.compile(
    rf"[ \t]*[,;]?[ \t]*(?P<currency>{_CURRENCY_WORD})?(?![^\W\d_])"
    rf"(?:[ \t]*[,;]?[ \t]*(?:and|und|et|en|i)?[ \t]*"
    rf"(?:(?P<over>\d{{1,2}})[ \t]*/[ \t]*100|0?[.,](?P<decimal>\d{{2}})(?![\d.,])"
    rf"|(?P<digits>\d{{1,2}})[ \t]*{_CENT_WORD}|(?P<words>[^\W\d_]+(?:[ \t\-]+[^\W\d_]+){{0,3}})[ \t]+{_CENT_WORD})"
    rf"(?![^\W\d_]))?[ \t]*(?P<currency2>{_CURRENCY_WORD})?(?![^\W\d_])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class WordsAmount:
    value: Decimal
    cents_given: bool  # False: only the whole part was written, so only the whole part can be compared
    start: int
    end: int
    phrase: str


@lru_cache(maxsize=4096)
def _split(word: str, language: str) -> tuple[_Token, ...] | None:
    """A word as vocabulary tokens ("viertausendneunhundert" = vier tausend neun hundert, "quatre-vingt-dix" =
    quatre-vingt dix), or None."""
    word = word.lstrip("-")
    vocab = _LANGUAGES[language]
    if word in vocab:
        return (vocab[word],)
    for cut in range(len(word) - 1, 1, -1):  # longest prefix first: "achtzehn" before "acht"
        head = vocab.get(word[:cut])
        if head is not None:
            rest = _split(word[cut:], language)
            if rest is not None:
                return (head, *rest)
    return None


def _evaluate(tokens: list[_Token]) -> int | None:
    total = group = 0
    seen_number = False
    for kind, value in tokens:
        if kind == "unit":
            group += value
        elif kind == "hundred":
            group = max(group, 1) * 100
        elif kind == "scale":
            total += max(group, 1) * value
            group = 0
        seen_number = seen_number or kind != "and"
    return total + group if seen_number else None


def parse_number_words(phrase: str) -> int | None:
    """The whole number `phrase` spells out in one language, or None if any word is not a number word."""
    words = [w.lower() for w in _WORD.findall(phrase)]
    if not words or len(words) > _MAX_TOKENS:
        return None
    for language in _LANGUAGES:
        tokens: list[_Token] = []
        for word in words:
            split = _split(word, language)
            if split is None:
                break
            tokens.extend(split)
        else:
            value = _evaluate(tokens) if len(tokens) <= _MAX_TOKENS else None
            if value is not None:
                return value
    return None


_CONNECTORS = frozenset(("and", "und", "et", "en", "i"))
_JOINER = re.compile(r"[ \t\-]+")


# Every word of every page is asked, and pages repeat their words: the answer is remembered per word.
@lru_cache(maxsize=4096)
def _is_number_word(word: str) -> bool:
    return word not in _CONNECTORS and any(_split(word, language) for language in _LANGUAGES)


def _runs(text: str) -> list[tuple[int, int, int]]:
    """(start, end, number words) of each maximal run of number words joined by spaces, hyphens or connectors."""
    runs: list[tuple[int, int, int]] = []
    start = end = reach = count = 0
    for match in _WORD.finditer(text):
        word = match.group().lower()
        joined = count > 0 and _JOINER.fullmatch(text, reach, match.start()) is not None
        if _is_number_word(word):
            if not joined:
                if count:
                    runs.append((start, end, count))
                start, count = match.start(), 0
            end = reach = match.end()
            count += 1
        elif joined and word in _CONNECTORS:
            reach = match.end()  # "nine hundred and eighty": the run may go on, but does not end on "and"
        elif count:
            runs.append((start, end, count))
            count = 0
    if count:
        runs.append((start, end, count))
    return runs


def find_words_amounts(text: str) -> list[WordsAmount]:
    """Amounts written in words: labelled ("In words: ...") or followed by a currency word, with their cents."""
    found: list[WordsAmount] = []
    for start, end, count in _runs(text):
        after = _AFTER.match(text, end)
        line_start = text.rfind("\n", 0, start) + 1
        labelled = bool(_LABEL.search(text, max(line_start, start - 80), start))
        has_currency = bool(after and (after.group("currency") or after.group("currency2")))
        # Unlabelled, a lone word before a currency ("jeden Euro", "one dollar") is too often prose.
        if not labelled and not (has_currency and count >= 2):
            continue
        whole = parse_number_words(text[start:end])
        if whole is None:
            continue
        cents, cents_given = _cents(after)
        phrase_end = after.end() if after and after.end() > end else end
        found.append(WordsAmount(Decimal(whole) + cents, cents_given, start, phrase_end, text[start:phrase_end]))
    return found


def _cents(after: re.Match[str] | None) -> tuple[Decimal, bool]:
    if after is None:
        return Decimal(0), False
    digits = after.group("over") or after.group("decimal") or after.group("digits")
    if digits is not None:
        return Decimal(int(digits)) / 100, True
    if after.group("words"):
        spelled = parse_number_words(after.group("words"))
        if spelled is not None and spelled < 100:
            return Decimal(spelled) / 100, True
    return Decimal(0), False
