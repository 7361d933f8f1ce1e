"""The `treasurer` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.commands.approvals import approvals_app
from api.commands.audit import register as register_audit_commands
from api.commands.decisions import register as register_decision_commands
from api.commands.extraction import register as register_extraction_commands
from api.commands.running import TreasurerGroup, run_command
from api.commands.users import users_app
from api.commands.vendors import vendors_app
from finance.settings import get_settings

app = typer.Typer(
    cls=TreasurerGroup,
    help="Treasurer: pays vendor invoices in a stablecoin, under policy, exactly once.",
    no_args_is_help=True,
)
chain_app = typer.Typer(help="Development chain commands.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for operators and services.", no_args_is_help=True)
payments_app = typer.Typer(help="Payments on chain.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(chain_app, name="chain")
app.add_typer(vendors_app, name="vendors")
app.add_typer(db_app, name="db")
app.add_typer(approvals_app, name="approvals")
app.add_typer(users_app, name="users")
console = Console()
register_extraction_commands(app)
register_decision_commands(app)
register_audit_commands(app)


_run = run_command


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its throwaway database.")] = Path(
        ".treasurer/demo"
    ),
) -> None:
    """Run the whole path on embedded defaults: in-process chain, SQLite, sample vendors and invoices."""
    from api.demo import run_demo

    # Piped output has no terminal width; give the table room rather than folding every cell.
    wide = console if console.is_terminal else Console(width=150)
    _run(run_demo(workdir, wide))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default TREASURER_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default TREASURER_API_PORT).")] = None,
) -> None:
    """Start the HTTP API."""
    import uvicorn

    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        # The embedded default needs no setup step; PostgreSQL is migrated explicitly (`treasurer db upgrade`).
        from finance.migrations.runner import upgrade

        upgrade(settings.database_url)
    from finance.logs import configure_logging

    configure_logging(settings)
    # log_config=None: uvicorn's loggers propagate to ours (JSON, redacted). access_log=False: our middleware
    # writes the access line, by route template; uvicorn's would print query strings, where approval tokens are.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,
        access_log=False,
    )


@app.command()
def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name in the group (default: host and pid).")] = None,
    max_invoices: Annotated[int | None, typer.Option(help="Stop after this many invoices (for tests).")] = None,
) -> None:
    """Process queued invoices, send approval mails and resume approved invoices (Redis Stream consumer groups)."""
    from agents.worker import run_worker
    from finance.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    _run(run_worker(settings, consumer=name, max_invoices=max_invoices))


@chain_app.command("bootstrap")
def chain_bootstrap() -> None:
    """Deploy the test stablecoin to the configured dev chain and fund the treasury wallet."""
    from finance.chain.bootstrap import bootstrap_dev_chain
    from finance.chain.client import ChainClient
    from finance.db import create_engine, session_factory
    from finance.money import from_base_units

    async def go() -> None:
        settings = get_settings()
        engine = create_engine(settings.database_url)
        chain = await ChainClient.connect(settings)
        try:
            async with session_factory(engine).begin() as session:
                result = await bootstrap_dev_chain(session, chain)
            verb = "deployed" if result.deployed else "already deployed"
            console.print(f"stablecoin {verb} at {result.token_address} on chain {chain.chain_id}")
            if result.minted_units:
                console.print(
                    f"minted {from_base_units(result.minted_units, settings.token_decimals)} "
                    f"to the treasury {chain.treasury_address}"
                )
        finally:
            await chain.close()
            await engine.dispose()

    _run(go())


@apikeys_app.command("create")
def apikeys_create(
    owner: Annotated[str, typer.Argument(help="Who holds the key (a person's e-mail or a service name).")],
    role: Annotated[list[str], typer.Option(help="cfo, approver, ops, auditor or admin; repeat for several.")],
) -> None:
    """Create an API key. It is printed once and stored only as a hash."""
    from finance.api_keys import create_api_key
    from finance.db import create_engine, session_factory

    async def go() -> str:
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine).begin() as session:
                return await create_api_key(session, owner, role)
        finally:
            await engine.dispose()

    try:
        key = _run(go())
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    console.print(f"API key for {owner} ({', '.join(sorted(set(role)))}); it will not be shown again:")
    print(key)


@payments_app.command("reconcile")
def payments_reconcile() -> None:
    """Drive every unfinished invoice and payment to a final state from what the chain says."""
    from agents.reconciler import reconcile
    from agents.runtime import open_treasurer

    async def go():
        async with open_treasurer(get_settings()) as treasurer:
            return await reconcile(treasurer)

    report = _run(go())
    outcomes = ", ".join(f"{n} {status}" for status, n in sorted(report.outcomes.items())) or "nothing to do"
    console.print(f"examined {report.examined} unfinished invoices: {outcomes}")
    if report.nonce_gaps_filled:
        console.print(f"filled nonce gaps: {', '.join(map(str, report.nonce_gaps_filled))}")
    for invoice_id, error in report.errors.items():
        console.print(f"[red]{invoice_id}[/]: {error}")
    if report.errors:
        raise typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations."""
    from finance.migrations.runner import upgrade

    upgrade(get_settings().database_url, revision)
    console.print(f"database at {revision}")


def main() -> None:  # pragma: no cover - console script shim
    sys.exit(app())


if __name__ == "__main__":  # `python -m api.cli ...`, as the tests start workers
    main()
