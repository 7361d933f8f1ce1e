"""`treasurer decisions explain INVOICE_ID`: the decision log, read back for one invoice."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agents.policy_replay import replay_recorded
from finance.db import create_engine, session_factory
from finance.decisions import DecisionLog
from finance.errors import NotFound, TreasurerError
from finance.settings import get_settings

console = Console()


async def explain(invoice_id: uuid.UUID) -> bool:
    """Print the invoice's decisions and replay its policy evaluation. True when the replay agrees."""
    engine = create_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await DecisionLog(session).for_invoice(invoice_id)
            if not rows:
                raise NotFound(f"no decisions recorded for invoice {invoice_id}")
            table = Table(title=f"Decisions for invoice {invoice_id}", show_lines=True)
            for column in ("#", "when", "step", "outcome", "reason"):
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(
                    str(row.id), row.created_at.isoformat(timespec="seconds"), row.step, row.outcome, row.reason
                )
            console.print(table)
            evaluation = next((r for r in reversed(rows) if r.step == "evaluate"), None)
            if evaluation is None:
                console.print("no policy evaluation to replay")
                return True
            replay = await replay_recorded(session, evaluation)
    finally:
        await engine.dispose()

    details = evaluation.details
    console.print(f"\n[bold]policy version {details.get('policy_version')}[/] decided [bold]{evaluation.outcome}[/]")
    for reason in details.get("reasons", []):
        inputs = ", ".join(f"{k}={v}" for k, v in reason.get("inputs", {}).items())
        console.print(f"  - {reason['rule']}: {reason['message']}" + (f" ({inputs})" if inputs else ""))
    if details.get("tier"):
        tier = details["tier"]
        console.print(f"  approval tier {tier['id']}: {tier['quorum']} of group {tier['group']}")
    console.print("facts: " + json.dumps(details.get("facts", {}), sort_keys=True))
    console.print("snapshot: " + json.dumps(details.get("snapshot", {}), sort_keys=True))
    if replay.replayed is None:
        console.print(f"[yellow]cannot replay:[/] {replay.problem}")
        return False
    recorded = [r["rule"] for r in details.get("reasons", [])]
    replayed = [r.rule for r in replay.replayed.reasons]
    if replay.replayed.action.value == evaluation.outcome and recorded == replayed:
        console.print(f"[green]replayed under version {replay.recorded_version}: same decision, same rules[/]")
        return True
    console.print(
        f"[red]replay differs:[/] recorded {evaluation.outcome} {recorded}, "
        f"replayed {replay.replayed.action.value} {replayed}"
    )
    return False


def register(app: typer.Typer) -> None:
    decisions_app = typer.Typer(help="The decision log.", no_args_is_help=True)
    app.add_typer(decisions_app, name="decisions")

    @decisions_app.command("explain")
    def explain_command(invoice_id: Annotated[uuid.UUID, typer.Argument(help="The invoice's id.")]) -> None:
        """Show every decision about an invoice and replay its policy evaluation under the same version."""
        try:
            agreed = asyncio.run(explain(invoice_id))
        except TreasurerError as exc:
            console.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(code=1) from exc
        raise typer.Exit(code=0 if agreed else 2)
