"""What a company name looks like on an invoice: legal forms, and how to cut a name out of a printed line."""

from __future__ import annotations

import re

# Legal forms. Short upper-case ones ("AG", "SA", "AB") are matched case-sensitively: as lower-case words they
# are ordinary words in several languages.
_LEGAL_FORMS_ANY_CASE = (
    r"GmbH[ \t]*&[ \t]*Co\.?[ \t]*KG", r"gGmbH", r"GmbH", r"mbH", r"Inc\.?", r"Incorporated", r"L\.?L\.?C\.?",
    r"Pvt\.?[ \t]+Ltd\.?", r"Private[ \t]+Limited", r"Pty\.?[ \t]+Ltd\.?", r"Co\.,?[ \t]+Ltd\.?", r"Ltd\.?",
    r"Limited", r"PLC", r"LLP", r"Corp\.?", r"Corporation", r"SARL", r"S\.à[ \t]?r\.l\.", r"SASU", r"EURL",
    r"Sp\.[ \t]*z[ \t]*o\.[ \t]*o\.?", r"spółka[ \t]+z[ \t]+ograniczoną[ \t]+odpowiedzialnością",
    r"spółka[ \t]+akcyjna", r"S\.p\.A\.", r"S\.r\.l\.", r"KGaA",
    r"S\.L\.U?\.?", r"S\.A\.U\.", r"Ltda\.?", r"Lda\.?", r"S\.n\.c\.", r"S\.a\.s\.", r"s\.r\.o\.",
    r"spol\.[ \t]*s[ \t]*r\.[ \t]*o\.", r"d\.o\.o\.", r"Kft\.", r"Zrt\.",
)  # fmt: skip
_LEGAL_FORMS_EXACT_CASE = (
    r"S\.A\.S\.?", r"SAS", r"S\.A\.", r"SA", r"B\.V\.?", r"BV", r"N\.V\.", r"NV", r"V\.O\.F\.", r"e\.K\.",
    r"e\.V\.", r"a\.G\.", r"OHG", r"GbR", r"UG", r"AG", r"KG", r"SE", r"Oy", r"Oyj", r"A/S", r"ApS", r"AB",
    r"ASA", r"AS", r"LP", r"SRL", r"SPA", r"SL", r"SLU", r"a\.s\.", r"HB", r"KB",
)  # fmt: skip
LEGAL_FORM = re.compile(
    r"(?<![^\s,])(?:"
    + "|".join(f"(?i:{form})" for form in _LEGAL_FORMS_ANY_CASE)
    + "|"
    + "|".join(_LEGAL_FORMS_EXACT_CASE)
    + r")(?![^\s,;:)|\]])"
)
_TOKEN = re.compile(r"\S+")
_NAME_WINDOW = 300
# Capitalised words after the legal form that end the cell ("Stahlwerk AG Norddorf").
_TAIL = re.compile(r"((?: [A-ZÄÖÜ][\w\-]+){1,2})(?=\s{2,}|\s*$)")
# Separators of a one-line sender address ("Serverhaus AG - Am Ufer 12 - D-12345 Beispielstadt").
SEGMENT_SEPARATOR = re.compile(r"\s+[-–—•●|·]\s+")
# Words that may join the words of a name without being capitalised.
_PARTICLES = frozenset({"&", "+", "-", "und", "and", "et", "en", "de", "van", "der", "von", "den", "la", "le", "du"})
_FIELD_WORDS = frozenset(
    """invoice invoices rechnung facture factuur faktura date datum data number nummer page seite total amount
    bill billed ship shipped due customer kunde client klant order reference description qty quantity tax vat
    summary details payment terms subtotal balance""".split()
)
_TITLE_WORDS = re.compile(
    r"^(?:(?:tax[ \t]+)?invoice|rechnung|facture|factuur|faktura(?:[ \t]+vat)?|receipt|quittung|bill|reçu)"
    r"(?:[ \t]*[|/:\-–][ \t]*|[ \t]+|$)|[ \t]+(?:(?:tax[ \t]+)?invoice|rechnung|facture|factuur|faktura|receipt)\.?$",
    re.IGNORECASE,
)
_STREET = re.compile(
    r"\d+[a-z]?\s*$|^\d|(?<![^\W\d_])(?:str\.|straße|strasse|street|st\.|road|rd\.|avenue|ave\.?|weg|laan"
    r"|ul\.|rue|allee|platz|suite|floor|level|box|postfach|c/|calle|avda\.?|avenida|plaza|paseo|via|viale|corso"
    r"|piazza|rua|travessa|largo|[^\W\d_]*gatan|[^\W\d_]*vägen|[^\W\d_]*gade|[^\W\d_]*vej|náměstí|ulice|nám\.)"
    r"(?![^\W\d_])",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"\b\d{4,5}\b")
_NOT_A_NAME = re.compile(
    r"@|https?:|www\.|\(c\)|©|copyright|page\s*\d|seite\s*\d|\d{1,2}[./]\d{1,2}[./]\d{2,4}|:", re.IGNORECASE
)


def normalize_name(name: str) -> str:
    """Case-, space- and punctuation-insensitive form, to compare names printed in different places."""
    return re.sub(r"[^0-9a-zà-ÿąćęłńóśźż]+", "", name.lower())


def strip_title_words(text: str) -> str:
    """Drop document-title words: "Northwind Cloud Invoice" -> "Northwind Cloud"."""
    previous = None
    while previous != text:
        previous = text
        text = _TITLE_WORDS.sub("", text.strip()).strip()
    return text


def clean_name(text: str) -> str:
    """A name as printed, without label punctuation around it and with single spaces."""
    text = re.sub(r"\s+", " ", text).strip(" \t,;:|*-–")
    return text


def first_segment(text: str) -> str:
    """The part of a printed line that is the name: before an address separator, keeping ", Inc."-style forms."""
    text = SEGMENT_SEPARATOR.split(text)[0]
    parts = [part.strip() for part in text.split(",")]
    name = parts[0]
    for part in parts[1:]:
        if not LEGAL_FORM.fullmatch(part):
            break
        name = f"{name}, {part}"
    return clean_name(name)


def looks_like_name(text: str) -> bool:
    """Whether a cell could be a party's name rather than an address line, a sentence, a label or a number."""
    text = text.strip()
    if not 2 <= len(text) <= 80 or _NOT_A_NAME.search(text):
        return False
    letters = sum(map(str.isalpha, text))
    digits = sum(map(str.isdigit, text))
    if letters < 2 or digits > letters / 3:
        return False
    # A four-digit number is a postcode on an address line, but a founding year in "Sportverein 1893 e.V.".
    if _STREET.search(text) or (_POSTCODE.search(text) and not ends_with_legal_form(text)):
        return False
    words = LEGAL_FORM.sub(" ", text).split()  # "Sp. z o.o." is a legal form, not lower-case prose
    if len(words) > 8:
        return False
    if words and (words[0].lower().strip(":#.") in _FIELD_WORDS or all(w.lower() in _FIELD_WORDS for w in words)):
        return False  # a field label ("Invoice Date", "Total"), not a party
    if not any(map(str.isupper, text)):
        return False  # "hello, please pay": names are written with capitals
    lowercase_words = [w for w in words if w[:1].islower() and w.lower() not in _PARTICLES]
    return len(lowercase_words) <= 1


def ends_with_legal_form(text: str) -> bool:
    forms = list(LEGAL_FORM.finditer(text))
    return bool(forms) and forms[-1].end() == len(text.rstrip())


def looks_like_address(text: str) -> bool:
    """Whether a cell is a street or a postcode-and-city line: what follows a name in a postal address block."""
    text = text.strip()
    if ":" in text or sum(map(str.isalpha, text)) < 3:
        return False  # a field ("Tel: 0123") or a bare number ("$10.00" under a "Rate" header)
    return bool(_STREET.search(text) or _POSTCODE.search(text))


def _is_name_token(token: str) -> bool:
    bare = token.strip("()[],;\"'")
    if not bare or bare.endswith(":"):
        return False
    if bare.lower() in _PARTICLES:
        return True
    return any(map(str.isupper, bare)) or (any(map(str.isdigit, bare)) and any(map(str.isalpha, bare)))


def name_with_legal_form(line_text: str, form: re.Match[str]) -> tuple[int, int] | None:
    """Span (within the line) of the company name ending in this legal form.

    Walks left over capitalised words (at most six, stopping at a column gap, a label or a lower-case word),
    then right over at most two capitalised words that end the cell ("Stahlwerk AG Norddorf").
    """
    start = form.start()
    words = 0
    # Six words back is all a name may reach: tokenising the whole line before each legal form is quadratic.
    window = max(0, form.start() - _NAME_WINDOW)
    for token in reversed(list(_TOKEN.finditer(line_text, window, form.start()))):
        if token.start() == window and window > 0:
            break  # a word cut by the window is longer than any name's
        if line_text[token.end() : start].count(" ") > 1 or "\t" in line_text[token.end() : start]:
            break  # a column gap
        if not _is_name_token(token.group()) or words >= 6:
            break
        start = token.start()
        words += 1
    while start < form.start() and line_text[start].lower() in "&+-":
        start += 1
    if start == form.start():
        return None  # a bare legal form is not a name
    end = form.end()
    tail = _TAIL.match(line_text, end)
    if tail and not any(map(str.isdigit, tail.group(1))):
        end = tail.end(1)
    return start, end
