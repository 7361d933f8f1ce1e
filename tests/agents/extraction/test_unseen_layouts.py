"""The extractor on invoices no rule was tuned on: fourteen layouts and nine languages written for this repository
(tests/data/invoices-own), the nearest thing in the repository to the sealed hold-out set of other vendors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.extraction.evaluation import format_report, load_records, score_dataset
from agents.extraction.offline import extract_offline

OWN_SET = Path(__file__).resolve().parents[2] / "data" / "invoices-own" / "invoices.jsonl"
# The hold-out target of the issue that asked for generalisation (0.85 on vendors and layouts never seen).
FLOOR = 0.85


def test_unseen_layouts_are_read_as_well_as_the_hold_out_target() -> None:
    if not OWN_SET.is_file():
        pytest.fail(f"own test corpus missing: expected {OWN_SET}")
    score = score_dataset(load_records(OWN_SET), extract_offline)
    assert (score.overall.accuracy or 0.0) >= FLOOR, "\n" + format_report(score)


def test_every_unseen_invoice_yields_its_total_and_currency() -> None:
    # The two fields a payment cannot do without: a miss here is a bill a person must key in.
    misses = []
    for record in load_records(OWN_SET):
        fields = extract_offline(record["text"])
        expected = record["expected"]
        if fields.total is None or str(fields.total) != expected["total"] or fields.currency != expected["currency"]:
            misses.append(f"{record['id']}: total {fields.total} {fields.currency}")
    assert not misses, misses
