"""`treasurer parse` and `treasurer eval extraction`: the invoice extractors from the command line.

`parse` shows what the treasurer would read from one document, and where it read it, without paying anything.
`eval extraction` scores an extractor on a labelled JSONL set (the `invoices-dev` format) so a change to the
rules or the model can be measured before it reaches real invoices.

Both go through `InvoiceExtractor`, the same entry point the payment graph uses, so what is measured here is
what runs in production. Heavy modules are imported inside the commands: `treasurer --help` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.extraction.evaluation import (
    DIMENSIONS,
    GROUPS,
    SCORED_FIELDS,
    ExtractionScore,
    Tally,
    load_records,
    score_dataset,
)
from agents.extraction.ocr_confidence import uncertain_fields
from agents.extraction.pdf import MAX_UPLOAD_BYTES
from agents.extraction.uploads import TextSource, read_upload
from finance.errors import TreasurerError
from finance.settings import get_settings

if TYPE_CHECKING:
    from agents.extraction.schemas import FieldEvidence, InvoiceFields
    from agents.extraction.service import ExtractionResult, InvoiceExtractor

# The record `parse --json` prints: the fields a payment uses, nothing internal (evidence, confidences).
JSON_FIELDS: tuple[str, ...] = (*SCORED_FIELDS, "line_items")
LINE_ITEM_FIELDS: tuple[str, ...] = ("description", "quantity", "unit_price", "amount")
# Characters of document text shown either side of a value in the "where found" column.
_SNIPPET_CONTEXT = 24


class Engine(StrEnum):
    auto = "auto"
    llm = "llm"
    offline = "offline"


class EvalEngine(StrEnum):
    # No "auto" here: a score must say which extractor earned it.
    offline = "offline"
    llm = "llm"


def register(app: typer.Typer) -> None:
    """Add `parse` and the `eval` group (with `eval extraction`) to `app`."""
    app.command("parse")(parse)
    eval_app = typer.Typer(help="Measure the treasurer against labelled data.", no_args_is_help=True)
    eval_app.command("extraction")(eval_extraction)
    app.add_typer(eval_app, name="eval")


# --- parse ------------------------------------------------------------------------------------------------------


def parse(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="An invoice PDF or text file; - reads stdin.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the extracted record, as one JSON object.")
    ] = False,
    engine: Annotated[Engine, typer.Option(help="auto: the LLM when configured, else offline rules.")] = Engine.auto,
) -> None:
    """Read one invoice and show the fields extracted from it, and where in the document each was found."""
    try:
        data, filename = _read_source(source)
        read = read_upload(data, filename, None)
        text = read.text
        result = asyncio.run(_extract_once(text, engine.value, read.source, read.document))
        if read.source == TextSource.OCR:
            result = result.with_flags(uncertain_fields(result.fields, read.doubtful_spans))
    except TreasurerError as exc:
        _fail(exc.message)
    if as_json:
        # typer.echo, not rich: rich would wrap long lines and colour the output a script parses.
        typer.echo(json.dumps(record_json(result.fields), ensure_ascii=False))
        return
    _print_result(_stdout(), result, text)


async def _extract_once(
    text: str, engine: str, source: str = "text", document: bytes | None = None
) -> ExtractionResult:
    from agents.extraction.service import InvoiceExtractor

    extractor = InvoiceExtractor(get_settings())
    try:
        return await extractor.extract(text, engine=engine, text_source=source, document=document)
    finally:
        await extractor.aclose()


def record_json(fields: InvoiceFields) -> dict[str, Any]:
    """The `parse --json` record: exactly JSON_FIELDS, the total as a decimal string so no digit is lost."""
    record: dict[str, Any] = {name: getattr(fields, name) for name in JSON_FIELDS}
    record["total"] = str(fields.total) if fields.total is not None else None
    record["line_items"] = [{name: getattr(item, name) for name in LINE_ITEM_FIELDS} for item in fields.line_items]
    return record


def _read_source(source: str) -> tuple[bytes, str | None]:
    # One byte over the cap is enough for the upload check to refuse it, without reading a huge file whole.
    if source == "-":
        return typer.get_binary_stream("stdin").read(MAX_UPLOAD_BYTES + 1), None
    path = Path(source)
    if not path.is_file():
        _fail(f"no such file: {source}")
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_UPLOAD_BYTES + 1), path.name
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror or exc}")


def _print_result(console: Console, result: ExtractionResult, text: str) -> None:
    fields = result.fields
    table = Table(title="Extracted invoice", title_justify="left")
    for column in ("field", "value", "confidence", "where found"):
        table.add_column(column)
    for name in SCORED_FIELDS:
        value = getattr(fields, name)
        evidence = fields.evidence.get(name)
        table.add_row(
            name,
            Text("-", style="dim") if value is None else Text(str(value)),
            f"{evidence.confidence:.2f}" if evidence else "-",
            _where_found(text, evidence) if value is not None else Text(""),
        )
    console.print(table)

    if fields.line_items:
        items = Table(title="Line items", title_justify="left")
        for column in LINE_ITEM_FIELDS:
            items.add_column(column.replace("_", " "), justify="left" if column == "description" else "right")
        for item in fields.line_items:
            items.add_row(*(Text(getattr(item, column) or "-") for column in LINE_ITEM_FIELDS))
        console.print(items)
    else:
        console.print("line items: none found")

    console.print(Text(f"engine: {result.engine}   trusted: {'yes' if result.trusted else 'no'}"))
    console.print(Text("flags: " + (", ".join(result.flags) if result.flags else "none")))


def _where_found(text: str, evidence: FieldEvidence | None) -> Text:
    """The value in its surrounding text, so a reviewer can check it against the document at a glance."""
    if evidence is None:
        return Text("-", style="dim")
    if evidence.span is None:
        return Text("derived, not read", style="dim")
    start, end = evidence.span
    if not 0 <= start <= end <= len(text):
        return Text("span outside the document", style="red")
    left = max(0, start - _SNIPPET_CONTEXT)
    right = min(len(text), end + _SNIPPET_CONTEXT)
    snippet = Text("…" if left else "")
    snippet.append(_one_line(text[left:start]))
    snippet.append(_one_line(text[start:end]), style="bold")
    snippet.append(_one_line(text[end:right]))
    snippet.append("…" if right < len(text) else "")
    return snippet


def _one_line(fragment: str) -> str:
    # Layout text separates columns with long runs of spaces; one space is enough to read the context.
    return re.sub(r"\s+", " ", fragment)


# --- eval extraction --------------------------------------------------------------------------------------------


def eval_extraction(
    dataset: Annotated[Path, typer.Argument(metavar="DATASET.jsonl", help="Labelled invoices, one JSON a line.")],
    engine: Annotated[EvalEngine, typer.Option(help="The extractor to score.")] = EvalEngine.offline,
    failures: Annotated[bool, typer.Option("--failures", help="Also list every field that did not match.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the scores, as one JSON object (for CI and benchmarks).")
    ] = False,
) -> None:
    """Score an extractor per field on labelled invoices: real and specimen documents apart, then per language,
    document kind, layout family and source format."""
    records = _load_dataset(dataset)
    from agents.extraction.service import InvoiceExtractor

    try:
        extractor = InvoiceExtractor(get_settings())
        if engine is EvalEngine.llm and not extractor.llm_configured:
            # Checked up front: the scorer counts a crashing document as a miss, so every record would fail quietly.
            _fail("the llm engine needs a model: set TREASURER_LLM_MODEL (and OPENAI_API_KEY / OPENAI_BASE_URL)")
        score, engines_used = _score(records, extractor, engine.value)
    except TreasurerError as exc:
        _fail(exc.message)

    if as_json:
        typer.echo(json.dumps(score_json(score, engine.value, engines_used, with_mismatches=failures)))
        return
    console = _stdout()
    if failures:
        _print_failures(console, score)
    console.print(accuracy_table(score))
    for dimension in DIMENSIONS:
        console.print(breakdown_table(score, dimension))
    crashed = sum(1 for mismatch in score.mismatches if mismatch.field == "*")
    if crashed:
        console.print(Text(f"{crashed} document(s) could not be extracted at all; see --failures", style="yellow"))
    others = {used: count for used, count in engines_used.items() if used != engine.value}
    for used, count in others.items():
        console.print(Text(f"{count} document(s) were read by the {used} engine instead of {engine.value}"))
    overall = score.overall
    typer.echo(f"overall field accuracy: {overall.accuracy or 0.0:.2f} ({overall.correct}/{overall.total})")


def _load_dataset(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        _fail(f"no such file: {path}")
    try:
        records = load_records(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{path} is not a readable JSONL file: {exc}")
    for number, record in enumerate(records, start=1):
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("id"), str)
            or not isinstance(record.get("text"), str)
        ):
            _fail(f"{path}: record {number} needs a string 'id' and 'text'")
    if not records:
        _fail(f"{path} holds no records")
    return records


def _score(
    records: list[dict[str, Any]], extractor: InvoiceExtractor, engine: str
) -> tuple[ExtractionScore, Counter[str]]:
    engines_used: Counter[str] = Counter()
    # The scorer calls a sync function per record. One event loop for the whole run, not asyncio.run per
    # record: the LLM engine's async HTTP client is bound to the loop it was first used on.
    with asyncio.Runner() as runner:

        def extract(text: str) -> InvoiceFields:
            result = runner.run(extractor.extract(text, engine=engine))
            engines_used[result.engine] += 1
            return result.fields

        try:
            score = score_dataset(records, extract)
        finally:
            runner.run(extractor.aclose())
    return score, engines_used


def accuracy_table(score: ExtractionScore) -> Table:
    """Per-field accuracy for real documents, specimens and all of them, with the counts behind each ratio."""
    table = Table(title="Extraction accuracy", title_justify="left")
    table.add_column("field")
    for group in GROUPS:
        table.add_column(f"{group} [{score.records[group]} docs]", justify="right")
    for name in SCORED_FIELDS:
        table.add_row(name, *(_cell(score.fields[group][name]) for group in GROUPS))
    table.add_section()
    table.add_row("all fields", *(_cell(score.group_tally(group)) for group in GROUPS), style="bold")
    table.add_row("line items recall", *(_cell(score.line_item_recall[group]) for group in GROUPS))
    table.add_row("line items precision", *(_cell(score.line_item_precision[group]) for group in GROUPS))
    return table


def breakdown_table(score: ExtractionScore, dimension: str) -> Table:
    """Per-field accuracy for each value of one record attribute (language, doc_kind, ...), largest group first."""
    table = Table(title=f"Accuracy by {dimension}", title_justify="left")
    table.add_column(dimension)
    for name in (*SCORED_FIELDS, "all fields"):
        table.add_column(name, justify="right")
    records = score.records_by(dimension)
    rows = score.by(dimension)
    for value in sorted(rows, key=lambda v: (-records[v], v)):
        fields = rows[value]
        every = Tally.combined(fields.values())
        table.add_row(
            Text(f"{value} [{records[value]} docs]"), *(_cell(fields[name]) for name in SCORED_FIELDS), _cell(every)
        )
    return table


def score_json(
    score: ExtractionScore, engine: str, engines_used: Counter[str], *, with_mismatches: bool = False
) -> dict[str, Any]:
    """The `eval extraction --json` object: the scorer's own numbers, plus which engines actually answered."""
    overall = score.overall
    report: dict[str, Any] = {
        "engine": engine,
        "engines_used": dict(engines_used),
        "overall_accuracy": overall.accuracy,
        "overall_correct": overall.correct,
        "overall_total": overall.total,
        "crashed": sum(1 for mismatch in score.mismatches if mismatch.field == "*"),
        **score.as_dict(),
    }
    if with_mismatches:
        report["mismatches"] = [
            {"record": m.record_id, "field": m.field, "expected": _shown(m.expected), "got": _shown(m.got)}
            for m in score.mismatches
        ]
    return report


def _cell(tally: Tally) -> str:
    return "-" if not tally.total else f"{tally.accuracy:.2f} ({tally.correct}/{tally.total})"


def _print_failures(console: Console, score: ExtractionScore) -> None:
    if not score.mismatches:
        console.print("no mismatches")
        return
    table = Table(title=f"Mismatches ({len(score.mismatches)})", title_justify="left")
    for column in ("record", "field", "expected", "got"):
        table.add_column(column)
    for mismatch in score.mismatches:
        table.add_row(
            Text(mismatch.record_id), mismatch.field, Text(_shown(mismatch.expected)), Text(_shown(mismatch.got))
        )
    console.print(table)


def _shown(value: Any) -> str:
    return "-" if value is None else str(value)


# --- output -----------------------------------------------------------------------------------------------------


def _stdout() -> Console:
    console = Console()
    # Piped output has no terminal width; give tables room rather than folding every cell.
    return console if console.is_terminal else Console(width=160)


def _fail(message: str) -> NoReturn:
    # Errors go to stderr so `parse --json` never mixes a message into the JSON a script reads.
    Console(stderr=True).print(Text.assemble(("error:", "red"), " ", message))
    raise typer.Exit(code=1)
