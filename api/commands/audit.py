"""`treasurer audit verify [--against-chain]` and `treasurer audit anchor`: the decision log checked, and its head
anchored outside the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from finance.audit.anchors import Anchorer, wait_until_mined
from finance.audit.verification import TrailReport, verify_against_chain
from finance.chain.client import TRANSIENT, ChainClient
from finance.db import create_engine, session_factory
from finance.decisions import DecisionLog
from finance.errors import ChainMisconfigured, TreasurerError
from finance.settings import Settings, get_settings

# soft_wrap: one finding is one line, however narrow the terminal, so the output greps and diffs.
console = Console(soft_wrap=True, highlight=False)
T = TypeVar("T")


def _run(command: Callable[[], Awaitable[T]]) -> T:
    """Errors become one line with a hint and exit 1, never a traceback."""
    try:
        return asyncio.run(command())
    except TreasurerError as exc:
        console.print(f"[red]error:[/] {exc.message}")
    except TRANSIENT as exc:
        console.print(f"[red]error:[/] the chain node did not answer ({exc!r}); is TREASURER_CHAIN_RPC_URL reachable?")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        console.print(f"[red]error:[/] the database did not answer ({reason}); check TREASURER_DATABASE_URL")
    raise typer.Exit(code=1)


async def _connect_chain(settings: Settings) -> ChainClient:
    if settings.embedded_chain:
        raise ChainMisconfigured(
            "the embedded EVM lives and dies inside one process, so nothing anchored there can be checked later; "
            "set TREASURER_CHAIN_RPC_URL (`treasurer demo` anchors and checks its own log in-process)"
        )
    return await ChainClient.connect(settings)


async def verify_chain_of_hashes() -> bool:
    engine = create_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            result = await DecisionLog(session).verify()
    finally:
        await engine.dispose()
    if result.ok:
        console.print(f"[green]decision log intact:[/] {result.checked} rows, every hash chains to the one before")
    else:
        console.print(
            f"[red]decision log broken at seq {result.first_bad_seq}[/] (row id {result.first_bad_id}): "
            f"{result.checked} rows verified before it"
        )
    return result.ok


async def verify_trail() -> TrailReport:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    chain = await _connect_chain(settings)
    try:
        async with session_factory(engine)() as session:
            return await verify_against_chain(session, chain, settings.anchor_file)
    finally:
        await chain.close()
        await engine.dispose()


def print_trail(report: TrailReport) -> None:
    for note in report.notes:
        console.print(f"[red]tampered:[/] {note.message}" if note.altered else f"[yellow]note:[/] {note.message}")
    for finding in report.findings:
        console.print(f"[red]tampered at seq {finding.seq}:[/] {finding.message}")
    anchored = (
        f"{len(report.anchors)} anchor(s) confirmed on chain, the newest for seq {report.newest_anchored_seq}"
        if report.anchors
        else "no anchor confirmed on chain yet"
    )
    tail = f"{report.unanchored_rows} row(s) not yet anchored"
    if report.intact:
        console.print(f"[green]decision log intact against the chain:[/] {report.last_seq} rows; {anchored}; {tail}")
    elif report.first_bad_seq is not None:
        console.print(f"[red]decision log tampered: first bad seq {report.first_bad_seq}[/]; {anchored}; {tail}")
    else:
        console.print(f"[red]anchor records tampered[/]; the log itself agrees with the chain; {anchored}; {tail}")


async def anchor_head() -> None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    chain = await _connect_chain(settings)
    try:
        anchorer = Anchorer(session_factory(engine), chain, settings)
        anchor = await wait_until_mined(anchorer, await anchorer.anchor_now())
    finally:
        await chain.close()
        await engine.dispose()
    console.print(
        f"anchored seq {anchor.seq}, head hash {anchor.head_hash}, tx {anchor.tx_hash} "
        f"(nonce {anchor.nonce}, block {anchor.block_number}), gas used {anchor.gas_used:,}"
    )


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="Audit the decision log.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify_command(
        against_chain: Annotated[
            bool,
            typer.Option(
                "--against-chain",
                help="Also hold the log against its anchors on chain (from the anchor file and the database).",
            ),
        ] = False,
    ) -> None:
        """Walk the decision log by seq and recompute its hash chain; exit 2 if any row was altered or removed."""
        if not against_chain:
            raise typer.Exit(code=0 if _run(verify_chain_of_hashes) else 2)
        report = _run(verify_trail)
        print_trail(report)
        raise typer.Exit(code=0 if report.intact else 2)

    @audit_app.command("anchor")
    def anchor_command() -> None:
        """Anchor the decision log's head on chain now, and wait until it is mined."""
        _run(anchor_head)
