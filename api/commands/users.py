"""`treasurer users create|list`: there is no default user; the first admin is made here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.commands.running import console, run_command
from finance.settings import get_settings

users_app = typer.Typer(help="People who sign in (no default user exists).", no_args_is_help=True)


@users_app.command("create")
def create(
    email: str,
    role: Annotated[list[str], typer.Option("--role", help="cfo, approver, ops, auditor or admin; repeatable")],
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (first line) instead of a prompt.")
    ] = None,
) -> None:
    """Create a user, e.g. the first admin: `treasurer users create you@example.com --role admin`."""
    from api.users.service import create_user
    from finance.db import create_engine, session_factory

    if password_file is not None:
        lines = password_file.read_text().splitlines()
        password = lines[0] if lines else ""
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)

    async def go():
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine).begin() as session:
                user = await create_user(session, email, password, role, created_by="treasurer users create")
                return user.email, user.roles
        finally:
            await engine.dispose()

    address, roles = run_command(go())
    console.print(f"created {address} with roles {', '.join(roles)}")


@users_app.command("list")
def list_users() -> None:
    """Every user, with roles and whether the account is active."""
    from finance.db import create_engine, session_factory
    from finance.users import UserRepository

    async def go():
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine)() as session:
                return await UserRepository(session).listed()
        finally:
            await engine.dispose()

    table = Table(title="Users")
    for column in ("email", "roles", "active", "last sign-in"):
        table.add_column(column)
    for user in run_command(go()):
        table.add_row(user.email, ", ".join(user.roles), "yes" if user.active else "no", str(user.last_login_at or "-"))
    console.print(table)
