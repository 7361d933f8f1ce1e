"""`treasurer parse` and `treasurer eval extraction`, run through typer's CLI runner on a fresh app."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents.extraction.evaluation import Tally, format_report, load_records, score_dataset
from agents.extraction.offline import extract_offline
from api.commands.extraction import JSON_FIELDS, register
from finance.settings import get_settings
from tests.fixtures.datasets import DEV_SET
from tests.fixtures.openai_server import FakeOpenAI, running_openai_server
from tests.fixtures.pdfs import SampleInvoice, invoice_pdf
from tests.fixtures.scans import blank_page, encoded, render, scanned_pdf_of

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "api" / "samples"
ACME = SAMPLES / "01-acme-hosting.txt"
FINAL_LINE = re.compile(r"^overall field accuracy: (\d\.\d\d) \((\d+)/(\d+)\)$")

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(autouse=True)
def offline_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # No model configured, whatever the developer's shell says: these tests must not call a paid API.
    for name in ("TREASURER_LLM_MODEL", "TREASURER_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def model_server() -> Iterator[FakeOpenAI]:
    with running_openai_server() as fake:
        yield fake


def _flat(output: str) -> str:
    # rich wraps long cells; compare on single-spaced text
    return " ".join(output.split())


def _parse_json(app: typer.Typer, args: list[str], stdin: bytes | None = None) -> dict:
    result = runner.invoke(app, ["parse", "--json", "--engine", "offline", *args], input=stdin)
    assert result.exit_code == 0, result.output
    # Exactly one JSON document on stdout, nothing before or after it.
    assert result.stdout.count("\n") == 1 and result.stdout.endswith("}\n"), result.stdout
    record = json.loads(result.stdout)
    assert list(record) == list(JSON_FIELDS)
    return record


# --- parse ------------------------------------------------------------------------------------------------------


def test_parse_json_prints_exactly_the_record(app: typer.Typer) -> None:
    record = _parse_json(app, [str(ACME)])

    assert record == {
        "vendor": "ACME Hosting GmbH",
        "invoice_number": "INV-2024-001",
        "issue_date": "2024-03-05",
        "due_date": "2024-04-04",
        "total": "1250.00",
        "currency": "USD",
        "payee_account": None,
        "line_items": [
            {
                "description": "Managed hosting, March 2024",
                "quantity": "1",
                "unit_price": "1000.00",
                "amount": "1000.00",
            },
            {"description": "Backup storage (500 GB)", "quantity": "1", "unit_price": "250.00", "amount": "250.00"},
        ],
    }


def test_parse_reads_stdin(app: typer.Typer) -> None:
    record = _parse_json(app, ["-"], stdin=ACME.read_bytes())

    assert (record["vendor"], record["invoice_number"], record["total"]) == (
        "ACME Hosting GmbH",
        "INV-2024-001",
        "1250.00",
    )


def test_parse_reads_a_pdf_file(app: typer.Typer, tmp_path: Path) -> None:
    invoice = SampleInvoice()
    path = tmp_path / "invoice.pdf"
    path.write_bytes(invoice_pdf(invoice))

    record = _parse_json(app, [str(path)])

    assert record["vendor"] == invoice.vendor
    assert record["invoice_number"] == invoice.invoice_number
    assert (record["issue_date"], record["due_date"]) == (invoice.issue_date, invoice.due_date)
    assert (record["total"], record["currency"]) == ("4797.00", "EUR")
    assert [item["description"] for item in record["line_items"]] == [item[0] for item in invoice.items]


def test_parse_reads_a_pdf_from_stdin(app: typer.Typer) -> None:
    record = _parse_json(app, ["-"], stdin=invoice_pdf())

    assert record["invoice_number"] == SampleInvoice().invoice_number


def test_parse_shows_values_with_where_they_were_found(app: typer.Typer) -> None:
    result = runner.invoke(app, ["parse", str(ACME), "--engine", "offline"])

    assert result.exit_code == 0, result.output
    out = _flat(result.stdout)
    for heading in ("field", "value", "confidence", "where found"):
        assert heading in out
    assert "INV-2024-001" in out and "1250.00" in out
    # The snippet quotes the document around the value, columns collapsed to single spaces.
    assert "Invoice No: INV-2024-001 Invoice date:" in out
    assert "Total: USD 1,250.00" in out
    assert "Managed hosting, March 2024" in out
    assert re.search(r"flags: \S", out)
    assert "engine: offline" in out


@pytest.mark.parametrize("as_json", [True, False])
def test_parse_of_a_blank_scan_fails_with_advice(app: typer.Typer, tmp_path: Path, as_json: bool) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf_of(blank_page()))

    result = runner.invoke(app, ["parse", str(path), "--engine", "offline", *(["--json"] if as_json else [])])

    assert result.exit_code == 1
    assert result.stdout == ""  # a script reading --json output must never get the error as data
    assert "no text could be read from this scan" in _flat(result.stderr)


def test_parse_reads_a_scan_by_ocr(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(encoded(render(ACME.read_text())))

    record = _parse_json(app, [str(path)])

    assert record["invoice_number"] == "INV-2024-001" and record["total"] == "1250.00"


def test_parse_of_a_missing_file_fails(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", str(tmp_path / "nope.txt"), "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no such file" in result.stderr


def test_parse_with_the_llm_engine_needs_a_model(app: typer.Typer) -> None:
    result = runner.invoke(app, ["parse", str(ACME), "--engine", "llm", "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "TREASURER_LLM_MODEL" in _flat(result.stderr)


def test_parse_of_empty_stdin_fails(app: typer.Typer) -> None:
    result = runner.invoke(app, ["parse", "-", "--engine", "offline"], input=b"")

    assert result.exit_code == 1
    assert "the upload is empty" in result.stderr


# --- eval extraction --------------------------------------------------------------------------------------------


def test_eval_extraction_reports_real_and_specimen_and_ends_with_the_overall_line(app: typer.Typer) -> None:
    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").split("\n")
    final = FINAL_LINE.match(lines[-1])
    assert final, lines[-1]
    assert final.group(1).startswith("0.9")
    # The command reports what the scorer measures, not numbers of its own.
    expected = format_report(score_dataset(load_records(DEV_SET), extract_offline)).splitlines()[-1]
    assert lines[-1] == expected
    header = _flat(result.stdout)
    assert "real [18 docs]" in header and "specimen [8 docs]" in header and "overall [26 docs]" in header
    for row in ("vendor", "payee_account", "all fields", "line items recall", "line items precision"):
        assert row in header


def test_eval_extraction_breaks_accuracy_down_by_language_kind_layout_and_format(app: typer.Typer) -> None:
    score = score_dataset(load_records(DEV_SET), extract_offline)

    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET)])

    assert result.exit_code == 0, result.output
    flat = _flat(result.stdout)
    for dimension in ("language", "doc_kind", "template_group", "format"):
        assert f"Accuracy by {dimension}" in flat
    german = Tally.combined(score.by("language")["de"].values())
    assert f"de [{score.records_by('language')['de']} docs]" in flat
    assert f"{german.accuracy:.2f} ({german.correct}/{german.total})" in flat
    assert "specimen [8 docs]" in flat and "demo [1 docs]" in flat and "stripe-invoice [4 docs]" in flat
    # The breakdowns come before the overall line, which stays the last one for scripts that read it.
    assert FINAL_LINE.match(result.stdout.rstrip("\n").split("\n")[-1])


def test_eval_extraction_json_is_one_object_with_the_scorers_numbers(app: typer.Typer, tmp_path: Path) -> None:
    records = load_records(DEV_SET)[:4]
    records[0].pop("language")  # a record without the key is counted as "unknown", not dropped
    dataset = tmp_path / "four.jsonl"
    dataset.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    score = score_dataset(records, extract_offline)

    result = runner.invoke(app, ["eval", "extraction", str(dataset), "--json", "--failures"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "offline" and report["engines_used"] == {"offline": 4}
    assert (report["overall_correct"], report["overall_total"]) == (score.overall.correct, score.overall.total)
    assert report["overall"]["records"] == 4 and report["crashed"] == 0
    assert report["by"]["language"]["unknown"]["records"] == 1
    assert set(report["by"]) == {"language", "doc_kind", "template_group", "format"}
    assert len(report["mismatches"]) == len(score.mismatches)


def test_eval_extraction_json_leaves_mismatches_out_unless_asked(app: typer.Typer) -> None:
    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET), "--json"])

    assert result.exit_code == 0, result.output
    assert "mismatches" not in json.loads(result.stdout)


def test_eval_extraction_lists_failures(app: typer.Typer) -> None:
    score = score_dataset(load_records(DEV_SET), extract_offline)
    assert score.mismatches, "the DEV set has known misses; without them this test proves nothing"

    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET), "--failures"])

    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    for mismatch in score.mismatches:
        cells = (mismatch.record_id, mismatch.field, str(mismatch.expected))
        assert any(all(cell in row for cell in cells) for row in rows), cells
    assert FINAL_LINE.match(result.stdout.rstrip("\n").split("\n")[-1])


def test_eval_extraction_of_a_missing_dataset_fails(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "extraction", str(tmp_path / "none.jsonl")])

    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_eval_extraction_of_a_malformed_dataset_fails(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "x"}\nnot json\n', encoding="utf-8")

    result = runner.invoke(app, ["eval", "extraction", str(path)])

    assert result.exit_code == 1
    assert "not a readable JSONL file" in _flat(result.stderr)


def test_eval_with_the_llm_engine_needs_a_model(app: typer.Typer) -> None:
    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET), "--engine", "llm"])

    assert result.exit_code == 1
    assert "TREASURER_LLM_MODEL" in _flat(result.stderr)


def test_eval_with_the_llm_engine_runs_every_record_on_one_event_loop(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real LLM engine keeps an async HTTP client bound to its loop; a loop per record would break it.
    from agents.extraction import service

    loops: set[int] = set()
    engines: list[str] = []

    class RecordingExtractor:
        llm_configured = True
        closed = False

        def __init__(self, settings, llm=None) -> None:
            pass

        async def aclose(self) -> None:
            loops.add(id(asyncio.get_running_loop()))
            RecordingExtractor.closed = True

        async def extract(self, text: str, *, engine: str = "auto") -> service.ExtractionResult:
            loops.add(id(asyncio.get_running_loop()))
            engines.append(engine)
            return service.ExtractionResult(fields=extract_offline(text), engine="llm", flags=())

    monkeypatch.setattr(service, "InvoiceExtractor", RecordingExtractor)

    result = runner.invoke(app, ["eval", "extraction", str(DEV_SET), "--engine", "llm"])

    assert result.exit_code == 0, result.output
    assert engines == ["llm"] * len(load_records(DEV_SET))
    assert len(loops) == 1 and RecordingExtractor.closed
    assert FINAL_LINE.match(result.stdout.rstrip("\n").split("\n")[-1])


def test_eval_with_the_llm_engine_against_a_model_server(
    app: typer.Typer, model_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # End to end over real HTTP: every record after the first would fall back to offline if its call ran on a
    # different event loop than the one the client's connection pool was opened on.
    records = load_records(DEV_SET)[:3]
    dataset = tmp_path / "three.jsonl"
    dataset.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    for record in records:
        expected = record["expected"]
        model_server.reply_structured({name: expected.get(name) for name in JSON_FIELDS if name != "line_items"})
    monkeypatch.setenv("TREASURER_LLM_MODEL", "test-model")
    monkeypatch.setenv("TREASURER_OPENAI_BASE_URL", model_server.base_url)
    get_settings.cache_clear()

    result = runner.invoke(app, ["eval", "extraction", str(dataset), "--engine", "llm"])

    assert result.exit_code == 0, result.output
    assert len(model_server.requests) == len(records)
    assert "instead of llm" not in result.stdout
    final = FINAL_LINE.match(result.stdout.rstrip("\n").split("\n")[-1])
    assert final and final.group(1) == "1.00", result.stdout
