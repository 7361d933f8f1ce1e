"""Scoring an extractor against labelled invoices (the `invoices-dev` JSONL format).

Only fields with ground truth count: `null` in a record means "not labelled", not "absent". Values are
compared the way a payment would use them: amounts as decimals, dates as ISO strings, accounts without spaces,
vendors case- and punctuation-insensitively against the name or any alias printed on the page.

Usage: python -m agents.extraction.evaluation PATH.jsonl [--failures]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agents.extraction.schemas import InvoiceFields, LineItem

SCORED_FIELDS: tuple[str, ...] = (
    "vendor",
    "invoice_number",
    "issue_date",
    "due_date",
    "total",
    "currency",
    "payee_account",
)
GROUPS: tuple[str, ...] = ("real", "specimen", "overall")
# Record attributes accuracy is also broken down by: a layout family or a language can fail while the total looks fine.
DIMENSIONS: tuple[str, ...] = ("language", "doc_kind", "template_group", "format")
UNKNOWN = "unknown"
# Fictitious test invoices are real-world layouts; specimens are official samples with made-up parties.
_GROUP_OF_KIND = {"real": "real", "demo": "real", "specimen": "specimen"}


@dataclass(frozen=True)
class Tally:
    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def add(self, ok: bool) -> Tally:
        return Tally(self.correct + int(ok), self.total + 1)

    @staticmethod
    def combined(tallies: Iterable[Tally]) -> Tally:
        tallies = list(tallies)
        return Tally(sum(t.correct for t in tallies), sum(t.total for t in tallies))


@dataclass(frozen=True)
class Mismatch:
    record_id: str
    field: str
    expected: Any
    got: Any


@dataclass(frozen=True)
class FieldOutcome:
    """One scored field of one record, with the record's DIMENSIONS values, kept for the breakdowns."""

    field: str
    ok: bool
    labels: dict[str, str]


@dataclass
class ExtractionScore:
    """Per-group, per-field tallies (`fields[group][field]`), line-item recall/precision, every mismatch, and
    every scored field with its record's attributes (`by(dimension)` breaks accuracy down by one of them)."""

    fields: dict[str, dict[str, Tally]] = field(
        default_factory=lambda: {g: {f: Tally() for f in SCORED_FIELDS} for g in GROUPS}
    )
    line_item_recall: dict[str, Tally] = field(default_factory=lambda: {g: Tally() for g in GROUPS})
    line_item_precision: dict[str, Tally] = field(default_factory=lambda: {g: Tally() for g in GROUPS})
    records: dict[str, int] = field(default_factory=lambda: {g: 0 for g in GROUPS})
    mismatches: list[Mismatch] = field(default_factory=list)
    outcomes: list[FieldOutcome] = field(default_factory=list)
    record_labels: list[dict[str, str]] = field(default_factory=list)

    def group_tally(self, group: str) -> Tally:
        return Tally.combined(self.fields[group].values())

    @property
    def overall(self) -> Tally:
        return self.group_tally("overall")

    def by(self, dimension: str) -> dict[str, dict[str, Tally]]:
        """`{value: {field: Tally}}` for one of DIMENSIONS, values in order of first appearance."""
        tallies: dict[str, dict[str, Tally]] = {
            labels[dimension]: {f: Tally() for f in SCORED_FIELDS} for labels in self.record_labels
        }
        for outcome in self.outcomes:
            row = tallies[outcome.labels[dimension]]
            row[outcome.field] = row[outcome.field].add(outcome.ok)
        return tallies

    def records_by(self, dimension: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for labels in self.record_labels:
            counts[labels[dimension]] = counts.get(labels[dimension], 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for a rich table or a JSON report: the groups, then `by` each of DIMENSIONS."""
        groups = {
            group: {
                "records": self.records[group],
                "fields": {f: _tally_dict(t) for f, t in self.fields[group].items()},
                "accuracy": self.group_tally(group).accuracy,
                "line_items": {
                    "recall": self.line_item_recall[group].accuracy,
                    "precision": self.line_item_precision[group].accuracy,
                },
            }
            for group in GROUPS
        }  # fmt: skip
        return {**groups, "by": {dimension: self._dimension_dict(dimension) for dimension in DIMENSIONS}}

    def _dimension_dict(self, dimension: str) -> dict[str, Any]:
        records = self.records_by(dimension)
        return {
            value: {
                "records": records[value],
                "fields": {f: _tally_dict(t) for f, t in fields.items()},
                "accuracy": Tally.combined(fields.values()).accuracy,
            }
            for value, fields in self.by(dimension).items()
        }


def _tally_dict(tally: Tally) -> dict[str, Any]:
    return {"correct": tally.correct, "total": tally.total, "accuracy": tally.accuracy}


def record_labels(record: dict[str, Any]) -> dict[str, str]:
    """The record's value for each of DIMENSIONS; a missing or empty one is UNKNOWN, never a reason to skip it."""
    return {dimension: str(record.get(dimension) or UNKNOWN) for dimension in DIMENSIONS}


# --- comparisons ------------------------------------------------------------------------------------------------

_LEGAL_PUNCTUATION = re.compile(r"[\s.,;:'\"’()\-–]+")
_NUMBER_PREFIX = re.compile(r"^(?:#|no\.?|nr\.?|n°|nº)\s*", re.IGNORECASE)


def _vendor_key(name: str) -> str:
    return _LEGAL_PUNCTUATION.sub(" ", name).strip().casefold()


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def vendor_matches(got: str | None, expected: str, aliases: Iterable[str] = ()) -> bool:
    if not got:
        return False
    return _vendor_key(got) in {_vendor_key(name) for name in (expected, *aliases)}


def invoice_number_matches(got: str | None, expected: str) -> bool:
    if not got:
        return False
    return _NUMBER_PREFIX.sub("", got.strip()) == _NUMBER_PREFIX.sub("", expected.strip())


def account_matches(got: str | None, expected: str) -> bool:
    return bool(got) and re.sub(r"\s", "", got).upper() == re.sub(r"\s", "", expected).upper()


def amount_matches(got: Any, expected: Any) -> bool:
    got_value, expected_value = _decimal(got), _decimal(expected)
    return got_value is not None and got_value == expected_value


def field_matches(name: str, got: Any, expected: Any, extra: dict[str, Any]) -> bool:
    if name == "vendor":
        return vendor_matches(got, expected, extra.get("vendor_aliases") or ())
    if name == "invoice_number":
        return invoice_number_matches(got, expected)
    if name == "total":
        return amount_matches(got, expected)
    if name == "payee_account":
        return account_matches(got, expected)
    if name == "currency":
        return bool(got) and str(got).strip().upper() == str(expected).strip().upper()
    return got == expected  # ISO dates


def _words(text: str | None) -> set[str]:
    return set(re.findall(r"\w+", (text or "").casefold()))


def _description_matches(got: str | None, expected: str | None) -> bool:
    if not expected:
        return True
    got_words, expected_words = _words(got), _words(expected)
    if not got_words:
        return False
    # Descriptions wrap over lines differently per extractor: the shorter must be mostly inside the longer.
    shorter = min(got_words, expected_words, key=len)
    return len(got_words & expected_words) / len(shorter) >= 0.6


def line_item_matches(got: LineItem, expected: dict[str, Any]) -> bool:
    """Matched on description and amount (unit price where the source labels no amount)."""
    money_field = "amount" if expected.get("amount") is not None else "unit_price"
    if expected.get(money_field) is not None and not amount_matches(getattr(got, money_field), expected[money_field]):
        return False
    return _description_matches(got.description, expected.get("description"))


def _match_line_items(got: list[LineItem], expected: list[dict[str, Any]]) -> int:
    unused = list(got)
    matched = 0
    for wanted in expected:
        hit = next((item for item in unused if line_item_matches(item, wanted)), None)
        if hit is not None:
            unused.remove(hit)
            matched += 1
    return matched


# --- scoring ----------------------------------------------------------------------------------------------------


def score_dataset(records: Iterable[dict[str, Any]], extract: Callable[[str], InvoiceFields]) -> ExtractionScore:
    score = ExtractionScore()
    for record in records:
        group = _GROUP_OF_KIND.get(record.get("doc_kind", "real"), "real")
        expected: dict[str, Any] = record.get("expected") or {}
        extra: dict[str, Any] = record.get("expected_extra") or {}
        try:
            got: InvoiceFields | None = extract(record["text"])
        except Exception as exc:  # one crashing document must not hide the others' scores
            got = None
            score.mismatches.append(Mismatch(record["id"], "*", "a result", f"{type(exc).__name__}: {exc}"))
        for g in (group, "overall"):
            score.records[g] += 1
        labels = record_labels(record)
        score.record_labels.append(labels)
        for name in SCORED_FIELDS:
            if expected.get(name) is None:
                continue
            value = getattr(got, name) if got is not None else None
            ok = field_matches(name, value, expected[name], extra)
            for g in (group, "overall"):
                score.fields[g][name] = score.fields[g][name].add(ok)
            score.outcomes.append(FieldOutcome(name, ok, labels))
            if not ok:
                score.mismatches.append(Mismatch(record["id"], name, expected[name], value))
        wanted_items = expected.get("line_items")
        if wanted_items:
            items = got.line_items if got is not None else []
            matched = _match_line_items(items, wanted_items)
            for g in (group, "overall"):
                recall, precision = score.line_item_recall[g], score.line_item_precision[g]
                score.line_item_recall[g] = Tally(recall.correct + matched, recall.total + len(wanted_items))
                score.line_item_precision[g] = Tally(precision.correct + matched, precision.total + len(items))
    return score


# --- report -----------------------------------------------------------------------------------------------------


def _cell(tally: Tally) -> str:
    if not tally.total:
        return "-"
    return f"{tally.accuracy:.2f} ({tally.correct}/{tally.total})"


def format_report(score: ExtractionScore) -> str:
    header = ["field", *(f"{g} [{score.records[g]} docs]" for g in GROUPS)]
    rows = [[name, *(_cell(score.fields[g][name]) for g in GROUPS)] for name in SCORED_FIELDS]
    rows.append(["all fields", *(_cell(score.group_tally(g)) for g in GROUPS)])
    rows.append(["line items recall", *(_cell(score.line_item_recall[g]) for g in GROUPS)])
    rows.append(["line items precision", *(_cell(score.line_item_precision[g]) for g in GROUPS)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    table = [header, *rows]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    overall = score.overall
    lines.append("")
    lines.append(f"overall field accuracy: {overall.accuracy or 0.0:.2f} ({overall.correct}/{overall.total})")
    return "\n".join(lines)


def format_failures(score: ExtractionScore) -> str:
    return "\n".join(f"{m.record_id}\t{m.field}\texpected={m.expected!r}\tgot={m.got!r}" for m in score.mismatches)


def load_records(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the offline invoice extractor on a labelled JSONL set.")
    parser.add_argument("path", type=Path, help="records in the invoices-dev JSONL format")
    parser.add_argument("--failures", action="store_true", help="also print every mismatch")
    args = parser.parse_args(argv)
    if not args.path.is_file():
        print(f"no such file: {args.path}", file=sys.stderr)
        return 2
    from agents.extraction.offline import extract_offline

    score = score_dataset(load_records(args.path), extract_offline)
    if args.failures and score.mismatches:
        print(format_failures(score))
        print()
    print(format_report(score))
    return 0


if __name__ == "__main__":
    sys.exit(main())
