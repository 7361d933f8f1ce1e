"""How every `treasurer` command runs its coroutine: a business error becomes a red line and exit code 1,
never a traceback."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from finance.errors import TreasurerError

console = Console()


def run_command(coro) -> object:  # noqa: ANN001
    try:
        return asyncio.run(coro)
    except TreasurerError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(code=1) from exc
