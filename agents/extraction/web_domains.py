"""The web and mail domains an invoice prints, and whether a company name is the one they spell.

An issuer writes from its own domain ("info@northwind.example", "www.hotel-du-lac.example"); the customer's
address block rarely carries a web site. A name whose distinctive word is the domain's own label is therefore
more likely the issuer's than a name that appears on the page without one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Each pattern starts at a literal ("@", "www.", "://"), so a scan is linear however long a run of letters is.
_DOMAIN = re.compile(
    r"(?:@|(?<![\w.])www\.|://)(?P<host>[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9][A-Za-z0-9-]{0,62}){0,6})"
)
# An invoice prints a few addresses; a page with more is a list, and the first ones are the letterhead's.
_MAX_DOMAINS = 40
# Labels that name a mail service, a hosting product or a host role, not a company.
_NOT_A_COMPANY = frozenset(
    """www mail email info contact billing invoice invoices rechnung facture noreply no-reply gmail
    outlook hotmail live yahoo icloud gmx web aol proton protonmail orange wanadoo free""".split()
)
_MIN_WORD = 4  # shorter words ("de", "sa", "the") are shared by too many names


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class WebDomains:
    """The company labels of the domains printed in a text: "hotel-du-lac" of "info@hotel-du-lac.example"."""

    def __init__(self, text: str, skip: Callable[[tuple[int, int]], bool] = lambda span: False) -> None:
        """`skip` says which spans to leave out: the customer's block prints the customer's own domain."""
        self.labels: set[str] = set()
        self.words: set[str] = set()
        for count, match in enumerate(_DOMAIN.finditer(text)):
            if count >= _MAX_DOMAINS:
                break
            if skip(match.span()):
                continue
            parts = match.group("host").lower().split(".")
            # The registrable label is the one before the top-level domain ("example" of "mail.example.co.uk"
            # is close enough: every label but the last is kept, minus host roles such as "www" and "mail").
            for label in parts[:-1]:
                if label in _NOT_A_COMPANY or len(label) < _MIN_WORD - 1:
                    continue
                self.labels.add(label.replace("-", ""))
                self.words.update(word for word in label.split("-") if len(word) >= _MIN_WORD)

    def spells(self, name: str, legal_form: re.Pattern[str]) -> bool:
        """Whether the name, or one of its distinctive words, is a label of a printed domain."""
        if not self.labels:
            return False
        words = [w for w in re.findall(r"[a-z0-9]+", _fold(legal_form.sub(" ", name))) if w]
        if not words:
            return False
        if "".join(words) in self.labels:
            return True  # "Hotel du Lac" and hoteldulac.example
        return any(len(word) >= _MIN_WORD and (word in self.words or word in self.labels) for word in words)
