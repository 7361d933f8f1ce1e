"""The vendor: who issued the invoice, as opposed to whom it is billed to.

Cues are weighed rather than tried in order, because no single cue is present on every layout:
an explicit seller label is decisive; a sentence naming the seller ("sold by X") or a one-line sender address
is strong; a name carrying a legal form is good, better near the top, when repeated (letterhead and footer)
or next to bank and tax details; the first name-like line of the page is the fallback. Anything printed in a
customer block ("Bill to", "Käufer", ...) is never the vendor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.extraction import labels
from agents.extraction.company_names import (
    LEGAL_FORM,
    SEGMENT_SEPARATOR,
    clean_name,
    ends_with_legal_form,
    first_segment,
    looks_like_name,
    name_with_legal_form,
    normalize_name,
    strip_title_words,
)
from agents.extraction.findings import Found
from agents.extraction.label_search import find_labels
from agents.extraction.layout import Layout
from agents.extraction.letterhead import address_blocks
from agents.extraction.parties import CustomerRegions, customer_regions, seller_blocks
from agents.extraction.web_domains import WebDomains

_SENDER_LINE = re.compile(r"^[ \t\f]*(?P<name>\S.*?)\s+[-–—•●|·]\s+.+?\s+[-–—•●|·]\s+.*\d{4,5}")
# Only a run of blanks' first character starts a match: every later one reaches the same words, and trying them all
# was quadratic in the width of a column gap.
_FRENCH_REGISTRATION = re.compile(r"(?<!\s)\s+au\s+capital\s+(?:social\s+)?de\b", re.IGNORECASE)
_BUSINESS_DETAILS = re.compile(
    r"\b(?:IBAN|BIC|SWIFT|USt|VAT|TVA|BTW|KvK|HRB|HRA|RCS|NIP|REGON|KRS|Steuer|SIRET|Registergericht)", re.IGNORECASE
)
_TOP_LINES = 12
# A company name, a sentence naming the seller or a return-address line fits in this many characters; reading no
# further keeps the work per cue constant on a long line.
_NAME_REACH = 300
_MAX_SENDER_LINE = 400
# An invoice names a handful of companies; past this many legal forms the page is a list, not a letterhead.
_MAX_LEGAL_FORM_CANDIDATES = 100


@dataclass(frozen=True)
class _Candidate:
    name: str
    span: tuple[int, int]
    score: float
    rule: str


def _legal_form_candidates(layout: Layout, customers: CustomerRegions) -> list[_Candidate]:
    text = layout.text
    found: list[_Candidate] = []
    occurrences: dict[str, int] = {}
    details: dict[int, bool] = {}

    def has_details(number: int) -> bool:
        if number not in details:
            details[number] = bool(_BUSINESS_DETAILS.search(layout.lines[number].text))
        return details[number]

    # One search of the page, not one per line: no legal form spans a line, so the forms found are the same, in
    # the same order. Each is matched again within its line, whose text the name is cut from.
    for on_page in find_labels(LEGAL_FORM, text):
        line = layout.line_at(on_page.start())
        form = LEGAL_FORM.match(line.text, on_page.start() - line.start)
        if form is not None:
            if len(found) >= _MAX_LEGAL_FORM_CANDIDATES:
                return found
            located = name_with_legal_form(line.text, form)
            if located is None:
                continue
            span = (line.start + located[0], line.start + located[1])
            name = clean_name(text[span[0] : span[1]])
            if customers.covers(span) or customers.names_customer(name) or not looks_like_name(name):
                continue
            score = 50.0
            if line.number < _TOP_LINES:
                score += 15
            if name not in occurrences:
                occurrences[name] = text.count(name)
            score += min(occurrences[name] - 1, 3) * 5
            if any(has_details(n) for n in range(max(0, line.number - 3), min(len(layout.lines), line.number + 4))):
                score += 5
            found.append(_Candidate(name, span, score, "legal form"))
    return found


def _phrase_candidates(layout: Layout) -> list[_Candidate]:
    text = layout.text
    found: list[_Candidate] = []
    for phrase in labels.SELLER_PHRASE.finditer(text):
        line = layout.line_at(phrase.start())
        rest = re.split(r"\s{2,}|[!?;]", text[phrase.end() : min(line.end, phrase.end() + _NAME_REACH)])[0]
        name = first_segment(rest)
        if name.endswith(".") and not ends_with_legal_form(name):
            name = name[:-1]  # the full stop of the sentence, not of "Inc."
        if looks_like_name(name):
            start = phrase.end() + rest.find(name)
            # In the letterhead the sentence introduces the page; in the body or the notes it is a claim the
            # header outranks ("issued by <a registered vendor>" on another company's letterhead).
            score = 80 if line.number < _TOP_LINES else 70
            found.append(_Candidate(name, (start, start + len(name)), score, "phrase"))
    for registration in _FRENCH_REGISTRATION.finditer(text):
        line = layout.line_at(registration.start())
        before = line.text[max(0, registration.start() - line.start - _NAME_REACH) : registration.start() - line.start]
        for form in LEGAL_FORM.finditer(before):
            located = name_with_legal_form(before, form)
            if located and form.end() == len(before.rstrip()):
                name = clean_name(before[located[0] : located[1]])
                offset = registration.start() - len(before)
                span = (offset + located[0], offset + located[1])
                found.append(_Candidate(name, span, 80, "registration"))
    return found


def _sender_line(line_text: str) -> re.Match[str] | None:
    # The pattern backtracks over every separator of a line: fine on an address, cubic on a long line.
    return _SENDER_LINE.match(line_text) if len(line_text) <= _MAX_SENDER_LINE else None


def _sender_line_candidates(layout: Layout) -> list[_Candidate]:
    """A return address printed on one line above the address window: "Name - Street - ZIP City"."""
    found: list[_Candidate] = []
    for line in layout.lines[:_TOP_LINES]:
        match = _sender_line(line.text)
        if match:
            name = clean_name(match.group("name"))
            if looks_like_name(name):
                start = line.start + match.start("name")
                found.append(_Candidate(name, (start, start + len(name)), 85, "sender line"))
    return found


def _window_recipient(layout: Layout, customers: CustomerRegions) -> None:
    """Mark the address window under a sender line as the customer's: its first block is the recipient."""
    for line in layout.lines[:_TOP_LINES]:
        if not _sender_line(line.text):
            continue
        left = line.cells[0].column if line.cells else 0
        for below in layout.following_lines(line.number, 1):
            customers.add([cell for cell in below.cells if cell.column <= left + 10])


def _seller_label_candidates(layout: Layout, customers: CustomerRegions) -> list[_Candidate]:
    found: list[_Candidate] = []
    for block in seller_blocks(layout):
        named = block.first_name(layout)
        if named is None:
            continue
        printed, span = named
        name = first_segment(printed)
        if customers.names_customer(name):
            continue
        if name != printed:  # cut at an address separator: the span shrinks to the name
            offset = layout.text.find(name, span[0], span[1])
            span = (offset, offset + len(name)) if offset >= 0 else span
        found.append(_Candidate(name, span, 100, "seller label"))
    return found


def _account_holder_candidates(layout: Layout, customers: CustomerRegions) -> list[_Candidate]:
    found: list[_Candidate] = []
    for match in find_labels(labels.ACCOUNT_HOLDER, layout.text):
        line = layout.line_at(match.start())
        value = re.match(
            r"[ \t]*:?[ \t]*(\S+(?: \S+)*)", layout.text[match.end() : min(line.end, match.end() + _NAME_REACH)]
        )
        if not value:
            continue
        name = first_segment(value.group(1))
        if looks_like_name(name) and not customers.names_customer(name):
            start = match.end() + value.start(1)
            score = 55.0 if LEGAL_FORM.search(name) else 40.0
            found.append(_Candidate(name, (start, start + len(name)), score, "account holder"))
    return found


def _address_block_candidates(layout: Layout, customers: CustomerRegions) -> list[_Candidate]:
    """A name over its street at the top of the page. Stating a tax id under the address, or printing the name
    again (letterhead and footer), is what an issuer does for itself; a customer's block is printed once."""
    found: list[_Candidate] = []
    for block in address_blocks(layout):
        if customers.covers(block.span) or customers.names_customer(block.name):
            continue
        score = 60.0
        if block.states_tax_id:
            score += 15
        if layout.text.count(block.name) > 1:
            score += 10
        found.append(_Candidate(block.name, block.span, score, "address block"))
    return found


def _first_line_candidate(layout: Layout, customers: CustomerRegions) -> list[_Candidate]:
    """The first name-like cell at the top of the page: letterheads print the issuer first."""
    for line in layout.lines[:_TOP_LINES]:
        for cell in line.cells:
            if customers.covers((cell.start, cell.end)) or labels.SELLER.match(cell.text) or cell.text.endswith(":"):
                continue  # a field's label ("Rechnungsnummer:") is no name
            if labels.CUSTOMER.match(cell.text):
                break
            name = first_segment(strip_title_words(SEGMENT_SEPARATOR.split(cell.text)[0]))
            if name and looks_like_name(name) and not customers.names_customer(name):
                start = cell.start + max(cell.text.find(name), 0)
                return [_Candidate(name, (start, start + len(name)), 30, "first line")]
    return []


def find_vendor(layout: Layout) -> Found[str] | None:
    customers = customer_regions(layout)
    _window_recipient(layout, customers)
    candidates = (
        _seller_label_candidates(layout, customers)
        + _phrase_candidates(layout)
        + _sender_line_candidates(layout)
        + _legal_form_candidates(layout, customers)
        + _account_holder_candidates(layout, customers)
        + _address_block_candidates(layout, customers)
        + _first_line_candidate(layout, customers)
    )
    if not candidates:
        return None
    # Agreement between independent cues is evidence too: a name found by several rules gets a small bonus.
    rules: dict[str, set[str]] = {}
    for candidate in candidates:
        rules.setdefault(normalize_name(candidate.name), set()).add(candidate.rule)
    domains = WebDomains(layout.text, skip=customers.covers)
    spelled = {key: domains.spells(key, LEGAL_FORM) for key in {c.name for c in candidates}}

    def weight(candidate: _Candidate) -> tuple[float, int]:
        agreement = 5 * (len(rules[normalize_name(candidate.name)]) - 1)
        # The issuer writes from its own domain: "info@northwind.example" names Northwind, not the customer beside it.
        domain = 20 if spelled[candidate.name] else 0
        return candidate.score + agreement + domain, -candidate.span[0]

    best = max(candidates, key=weight)
    confidence = min(0.95, 0.3 + best.score / 150)
    return Found(best.name, best.span, round(confidence, 2))
