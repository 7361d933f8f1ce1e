"""The scorer, and the offline extractor's score on the DEV set."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agents.extraction.evaluation import (
    DIMENSIONS,
    SCORED_FIELDS,
    ExtractionScore,
    Tally,
    field_matches,
    format_report,
    load_records,
    main,
    score_dataset,
)
from agents.extraction.offline import extract_offline
from agents.extraction.schemas import InvoiceFields, LineItem
from tests.fixtures.datasets import DEV_SET

TARGET_ACCURACY = 0.90


def _record(record_id: str, kind: str, expected: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": record_id, "doc_kind": kind, "text": record_id, "expected": expected, "expected_extra": extra or {}}


@pytest.mark.parametrize(
    ("field", "got", "expected", "extra", "ok"),
    [
        ("vendor", "Userpilot, Inc.", "Userpilot, Inc", {}, True),
        ("vendor", "squeaky b.v.", "Squeaky B.V", {}, True),
        ("vendor", "Free SAS", "Free", {"vendor_aliases": ["Free SAS"]}, True),
        ("vendor", "Free Mobile", "Free", {"vendor_aliases": ["Free SAS"]}, False),
        ("vendor", None, "Free", {}, False),
        ("invoice_number", " #BLR_1 ", "BLR_1", {}, True),
        ("invoice_number", "No. 42", "42", {}, True),
        ("invoice_number", "420", "42", {}, False),
        ("total", Decimal("4904.94"), "4904.94", {}, True),
        ("total", Decimal("4904.9"), "4904.90", {}, True),
        ("total", Decimal("521.91"), "1021.91", {}, False),
        ("issue_date", "2024-03-05", "2024-03-05", {}, True),
        ("issue_date", "2024-05-03", "2024-03-05", {}, False),
        ("payee_account", "de89 3704 0044 0532 0130 00", "DE89370400440532013000", {}, True),
        ("currency", "eur", "EUR", {}, True),
    ],
)
def test_field_comparisons(field: str, got: Any, expected: Any, extra: dict[str, Any], ok: bool) -> None:
    assert field_matches(field, got, expected, extra) is ok


def test_only_labelled_fields_count_and_groups_are_kept_apart() -> None:
    records = [
        _record("real-1", "real", {"vendor": "A GmbH", "total": "10.00", "currency": None}),
        _record("demo-1", "demo", {"vendor": "B Ltd", "total": "5.00"}),
        _record("spec-1", "specimen", {"vendor": "C AG", "issue_date": "2024-01-02"}),
    ]
    answers = {
        "real-1": InvoiceFields(vendor="a gmbh", total=Decimal("10.00"), currency="USD"),
        "demo-1": InvoiceFields(vendor="B Ltd", total=Decimal("6.00")),
        "spec-1": InvoiceFields(vendor="Someone Else", issue_date="2024-01-02"),
    }
    score = score_dataset(records, answers.__getitem__)
    assert (score.group_tally("real").correct, score.group_tally("real").total) == (3, 4)
    assert (score.group_tally("specimen").correct, score.group_tally("specimen").total) == (1, 2)
    assert (score.overall.correct, score.overall.total) == (4, 6)
    assert score.fields["overall"]["currency"].total == 0  # null ground truth is not scored
    assert {(m.record_id, m.field) for m in score.mismatches} == {("demo-1", "total"), ("spec-1", "vendor")}


def test_an_extractor_that_crashes_scores_zero_for_that_record_only() -> None:
    def extract(text: str) -> InvoiceFields:
        if text == "bad":
            raise ValueError("boom")
        return InvoiceFields(vendor="A")

    records = [_record("bad", "real", {"vendor": "A"}), _record("good", "real", {"vendor": "A"})]
    score = score_dataset(records, extract)
    assert (score.overall.correct, score.overall.total) == (1, 2)


def test_line_items_match_on_description_and_amount() -> None:
    expected = {
        "line_items": [
            {"description": "Design (hours)", "quantity": "1", "unit_price": "160", "amount": "160.00"},
            {"description": "Ballons", "quantity": "400", "unit_price": "0.79", "amount": "316.00"},
        ]
    }
    got = InvoiceFields(
        line_items=[
            LineItem(description="Design (hours): Of a sample", amount="160.00"),
            LineItem(description="Ballons: various colors", amount="361.00"),
            LineItem(description="Shipping", amount="5.00"),
        ]
    )
    score = score_dataset([_record("x", "specimen", expected)], lambda _: got)
    assert (score.line_item_recall["overall"].correct, score.line_item_recall["overall"].total) == (1, 2)
    assert (score.line_item_precision["overall"].correct, score.line_item_precision["overall"].total) == (1, 3)


def test_report_is_a_table_that_ends_with_the_overall_accuracy() -> None:
    records = [_record("r", "real", {"vendor": "A", "total": "1.00"}), _record("s", "specimen", {"vendor": "B"})]
    report = format_report(score_dataset(records, lambda _: InvoiceFields(vendor="A", total=Decimal("1.00"))))
    lines = report.splitlines()
    assert lines[0].split()[0] == "field"
    assert any(line.startswith("vendor") and "0.50 (1/2)" in line for line in lines)
    assert lines[-1] == "overall field accuracy: 0.67 (2/3)"


def test_empty_score_reports_zero() -> None:
    assert format_report(ExtractionScore()).splitlines()[-1] == "overall field accuracy: 0.00 (0/0)"


def test_command_line_prints_failures_and_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    record = _record("acme", "demo", {"vendor": "ACME Hosting GmbH", "total": "99.00"})
    record["text"] = "ACME Hosting GmbH\nInvoice No: 1\nTotal: 1,250.00 USD\n"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert main([str(path), "--failures"]) == 0
    out = capsys.readouterr().out
    assert "acme\ttotal\texpected='99.00'\tgot=Decimal('1250.00')" in out
    assert out.rstrip().splitlines()[-1] == "overall field accuracy: 0.50 (1/2)"


def test_dev_set_accuracy_is_at_least_the_target() -> None:
    if not DEV_SET.is_file():
        pytest.fail(f"DEV set missing: expected the invoices-dev JSONL at {DEV_SET}")
    score = score_dataset(load_records(DEV_SET), extract_offline)
    accuracy = score.overall.accuracy or 0.0
    assert accuracy >= TARGET_ACCURACY, "\n" + format_report(score)


def test_accuracy_is_broken_down_by_language_kind_layout_and_format_with_unknown_for_missing_keys() -> None:
    records = [
        {**_record("de-1", "specimen", {"vendor": "A", "total": "1.00"}), "language": "de", "template_group": "zf"},
        {**_record("de-2", "real", {"vendor": "B"}), "language": "de", "template_group": "zf", "format": "pdf"},
        _record("bare", "real", {"vendor": "A"}),  # an older record: no language, layout or format
    ]
    records[2].pop("doc_kind")
    score = score_dataset(records, lambda _: InvoiceFields(vendor="A", total=Decimal("2.00")))

    by_language = score.by("language")
    assert list(by_language) == ["de", "unknown"]
    assert (by_language["de"]["vendor"].correct, by_language["de"]["vendor"].total) == (1, 2)
    assert (by_language["de"]["total"].correct, by_language["de"]["total"].total) == (0, 1)
    assert (by_language["unknown"]["vendor"].correct, by_language["unknown"]["vendor"].total) == (1, 1)
    assert by_language["unknown"]["total"].total == 0  # not labelled, not scored
    assert score.records_by("doc_kind") == {"specimen": 1, "real": 1, "unknown": 1}
    assert score.records_by("template_group") == {"zf": 2, "unknown": 1}
    assert score.records_by("format") == {"unknown": 2, "pdf": 1}


def test_breakdowns_add_up_to_the_overall_score() -> None:
    records = load_records(DEV_SET)
    score = score_dataset(records, extract_offline)
    for dimension in DIMENSIONS:
        values = score.by(dimension)
        assert sum(score.records_by(dimension).values()) == len(records)
        combined = Tally.combined(t for fields in values.values() for t in fields.values())
        assert combined == score.overall, dimension


def test_the_score_as_a_dict_carries_the_breakdowns() -> None:
    records = [{**_record("x", "real", {"vendor": "A"}), "language": "fr"}]
    report = score_dataset(records, lambda _: InvoiceFields(vendor="B")).as_dict()
    assert report["overall"]["accuracy"] == 0.0
    assert report["by"]["language"]["fr"] == {
        "records": 1,
        "fields": {
            name: {"correct": 0, "total": int(name == "vendor"), "accuracy": 0.0 if name == "vendor" else None}
            for name in SCORED_FIELDS
        },
        "accuracy": 0.0,
    }
    assert report["by"]["template_group"]["unknown"]["records"] == 1
    json.dumps(report)  # plain numbers only


# Both DEV files together (63 records, 24 layout families). Every miss left is a payee IBAN whose printed check
# digits are wrong (specimen test data, never reported: a bad checksum pays a stranger) or that is not printed.
BOTH_DEV_FILES_TARGET = 0.95


def test_both_dev_files_score_at_least_the_target() -> None:
    records = [record for path in sorted(DEV_SET.parent.glob("*.jsonl")) for record in load_records(path)]
    assert len(records) == 63
    score = score_dataset(records, extract_offline)
    assert (score.overall.accuracy or 0.0) >= BOTH_DEV_FILES_TARGET, "\n" + format_report(score)
