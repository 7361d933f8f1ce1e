"""The offline extractor must generalise: no rule, vocabulary list or comment under `agents/extraction/` may name
a vendor of the DEV set. A rule that knows a vendor scores on the DEV set and fails on every other invoice, so
the sealed hold-out (other vendors, other layouts) would be the first to notice; this test notices first.

Distinctive words are the words of each DEV vendor's name and aliases, minus legal forms and minus ordinary
words that invoices print as labels or that many companies share ("fournisseur" is the French label for a
supplier, "global" and "services" name nobody)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fixtures.datasets import DEV_SETS

REPO = Path(__file__).resolve().parents[3]
EXTRACTION = REPO / "agents" / "extraction"

_LEGAL_FORMS = {
    "inc", "ltd", "llc", "pty", "pvt", "plc", "gmbh", "mbh", "ag", "kg", "co", "sas", "sa", "sarl", "bv", "nv",
    "spółka", "akcyjna", "corporation", "corp",
}  # fmt: skip
# Ordinary words: labels, placeholders and words shared by many company names. Matching them would forbid the
# vocabulary a general rule needs.
_ORDINARY = {
    "the", "for", "and", "seller", "company", "trading", "trade", "name", "global", "goods", "retail", "free",
    "services", "service", "cloud", "supplies", "solutions", "industrial", "operations", "fournisseur", "lines",
    "testing", "auto", "entrepreneur", "société", "muster", "ireland", "emea", "limited",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]{4,}")


def _vendor_names() -> set[str]:
    names: set[str] = set()
    for path in DEV_SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                names.add(record["expected"]["vendor"])
                names.update(record.get("expected_extra", {}).get("vendor_aliases") or [])
    return names


def distinctive_words(names: set[str]) -> set[str]:
    words: set[str] = set()
    for name in names:
        for word in _WORD.findall(name.casefold()):
            if word not in _LEGAL_FORMS and word not in _ORDINARY:
                words.add(word)
    return words


def test_the_dev_sets_are_in_the_repository() -> None:
    assert [path.name for path in DEV_SETS] == ["invoices-more.jsonl", "invoices.jsonl"]
    assert len(_vendor_names()) > 30


@pytest.mark.parametrize("word", sorted(distinctive_words(_vendor_names())))
def test_no_extraction_module_names_a_dev_vendor(word: str) -> None:
    pattern = re.compile(rf"(?<![^\W\d_]){re.escape(word)}", re.IGNORECASE)
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(EXTRACTION.rglob("*"))
        if path.is_file() and path.suffix in {".py", ".txt", ".json", ".md", ".toml", ".yaml", ".yml"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not hits, f"{word!r} (a DEV vendor's name) is written into the extractor:\n" + "\n".join(hits)
