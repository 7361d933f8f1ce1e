"""How every `treasurer` command runs: a business error becomes a red line and exit code 1, settings that cannot
start become one line naming the variable and exit code 2; never a traceback."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from typer.core import TyperGroup

from finance.errors import TreasurerError
from finance.settings import Settings, explain

console = Console()


def run_command(coro) -> object:
    try:
        return asyncio.run(coro)
    except TreasurerError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc


class TreasurerGroup(TyperGroup):
    """The root command: every subcommand runs inside its `invoke`, so bad settings are caught here once, wherever
    a command first reads them (before its work, inside its event loop, in `serve` before uvicorn starts)."""

    def invoke(self, ctx: Any) -> Any:  # click's own signature
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            if exc.title != Settings.__name__:
                raise
            # Plain stderr, not rich: the line must survive pipes and log collectors unwrapped and unstyled.
            typer.echo(f"treasurer: {explain(exc)}", err=True)
            raise typer.Exit(code=2) from None
