"""Currency markers (symbols, ISO 4217 codes, words) and the document's invoice currency."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from agents.extraction.label_search import find_labels

# Codes an invoice is likely to print. A closed list, because any three capitals ("VAT", "GST", "PDF") would
# otherwise pass for a currency.
ISO_CODES: frozenset[str] = frozenset(
    """USD EUR GBP CHF PLN INR JPY CNY CAD AUD NZD SEK NOK DKK CZK HUF RON BGN TRY RUB UAH BRL MXN ARS CLP COP
    ZAR SGD HKD AED SAR QAR ILS KRW TWD THB MYR IDR VND EGP NGN KES ISK""".split()
)

# Prefixed dollars first: "CA$" must not read as a bare "$".
SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "¥": "JPY",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "₪": "ILS",
    "₴": "UAH",
    "zł": "PLN",
    "Kč": "CZK",
    "Rs.": "INR",
    "Rs": "INR",
    "Fr.": "CHF",
    "$": "USD",
}

# Words a sentence uses for a currency ("All charges are in US Dollars", "Payment should be made in euros").
WORDS: dict[str, str] = {
    "us dollars": "USD",
    "us dollar": "USD",
    "u.s. dollars": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "pounds sterling": "GBP",
    "pound sterling": "GBP",
    "swiss francs": "CHF",
    "złotych": "PLN",
    "zlotych": "PLN",
    "rupees": "INR",
}

_symbol_alternatives = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_code_alternatives = "|".join(sorted(ISO_CODES))
# Letter-like symbols ("zł", "Rs", "Fr.") must stand alone as words; "$" and "€" may touch digits. The shared
# lookbehind opens the pattern, so a scan can skip to where a marker can start (label_search).
CURRENCY_TOKEN = (
    rf"(?<![A-Za-z])(?:(?:{_code_alternatives})(?![A-Za-z])"
    rf"|(?:{_symbol_alternatives})(?![a-zA-Z]))"
)
_TOKEN_RE = re.compile(CURRENCY_TOKEN)
_WORD_RE = re.compile(
    r"(?<![^\W\d_])(" + "|".join(re.escape(w) for w in sorted(WORDS, key=len, reverse=True)) + r")(?![^\W\d_])",
    re.IGNORECASE,
)
# "Currency: EUR", "Währung: EUR", "Rechnungswährung : GBP", "PAYMENT CURRENCY: USD", "Waluta: PLN".
_LABEL_RE = re.compile(
    r"(?:currency|w(?:ä|ae)hrung|devise|monnaie|valuta|waluta)[ \t]*[:=]?[ \t]*"
    rf"(?P<code>{_code_alternatives})\b",
    re.IGNORECASE,
)
_QUALIFIED_DOLLARS = ("CAD", "AUD", "NZD", "HKD", "SGD", "MXN")


@dataclass(frozen=True)
class CurrencyFinding:
    code: str
    span: tuple[int, int]
    confidence: float


def code_for_token(token: str, document: str = "") -> str | None:
    """ISO code for a printed marker. A bare "$" is USD unless the document names another dollar and no USD."""
    token = token.strip()
    if token.upper() in ISO_CODES:
        return token.upper()
    code = SYMBOLS.get(token)
    if code == "USD" and token == "$" and document:
        return _dollar_code(document)
    return code


@lru_cache(maxsize=16)  # asked once per "$" in the same document
def _dollar_code(document: str) -> str:
    codes = {m.group() for m in re.finditer(r"\b[A-Z]{3}\b", document)}
    if "USD" in codes:
        return "USD"
    others = [c for c in _QUALIFIED_DOLLARS if c in codes]
    return others[0] if len(others) == 1 else "USD"


def find_currency_markers(text: str) -> list[CurrencyFinding]:
    markers: list[CurrencyFinding] = []
    for m in find_labels(_TOKEN_RE, text):
        code = code_for_token(m.group(), text)
        if code:
            markers.append(CurrencyFinding(code, m.span(), 0.6))
    for m in find_labels(_WORD_RE, text):
        markers.append(CurrencyFinding(WORDS[m.group(1).lower()], m.span(1), 0.6))
    return markers


def detect_currency(text: str, total_currency: CurrencyFinding | None = None) -> CurrencyFinding | None:
    """The invoice currency, from the strongest cue available.

    An explicit "Currency:" field beats the marker printed on the total, which beats a majority vote over every
    marker in the text (a document may quote a second currency for reference, but rarely more often).
    """
    label = _LABEL_RE.search(text)
    if label:
        return CurrencyFinding(label.group("code").upper(), label.span("code"), 0.95)
    if total_currency is not None:
        return total_currency
    markers = find_currency_markers(text)
    if not markers:
        return None
    votes = Counter(marker.code for marker in markers)
    code, count = votes.most_common(1)[0]
    first = next(marker for marker in markers if marker.code == code)
    share = count / len(markers)
    return CurrencyFinding(code, first.span, round(0.5 + 0.3 * share, 2))
