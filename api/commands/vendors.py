"""`treasurer vendors add|verify`: the registry from a shell, under the same four eyes as the API.

A shell has no sign-in, so each command names the person acting (`--as`): an existing, active user holding
the ops role, whose user id the "someone else" checks compare, exactly as if they had used the API."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands.running import console, run_command
from finance.settings import get_settings

vendors_app = typer.Typer(help="The vendor registry.", no_args_is_help=True)

As = Annotated[str, typer.Option("--as", help="The e-mail of the ops user acting (a user with the ops role).")]


async def _actor(session, email: str):
    from finance.errors import TreasurerError
    from finance.identity import Actor
    from finance.users import UserRepository

    user = await UserRepository(session).by_email(email)
    if user is None or not user.active or "ops" not in user.roles:
        error = TreasurerError(f"--as {email}: no active user with the ops role (see `treasurer users list`)")
        raise error
    return Actor(user_id=user.id, name=user.email)


@vendors_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The vendor's legal name, as on its invoices.")],
    payout_address: Annotated[str, typer.Argument(help="The EVM address it is paid at (EIP-55 checksummed).")],
    acting: As,
    alias: Annotated[list[str] | None, typer.Option(help="Another name the vendor invoices under.")] = None,
) -> None:
    """Register a vendor and the one address it may be paid at. It is paid only once someone else verifies it."""
    from finance.db import create_engine, session_factory
    from finance.vendors import VendorRepository

    async def go() -> str:
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine).begin() as session:
                actor = await _actor(session, acting)
                vendor = await VendorRepository(session).add(name, payout_address, alias or [], registered_by=actor)
                return (
                    f"registered {vendor.name} ({vendor.id}), paid at {vendor.payout_address} "
                    "once someone else verifies it"
                )
        finally:
            await engine.dispose()

    console.print(run_command(go()))


@vendors_app.command("verify")
def verify(
    vendor: Annotated[str, typer.Argument(help="The vendor's name or id.")],
    acting: As,
) -> None:
    """Verify a registered vendor: someone other than the people who registered or edited it."""
    from finance import vendor_changes
    from finance.db import create_engine, session_factory
    from finance.errors import NotFound
    from finance.vendors import VendorRepository

    async def go() -> str:
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine).begin() as session:
                actor = await _actor(session, acting)
                found = await VendorRepository(session).by_name_or_id(vendor)
                if found is None:
                    raise NotFound(f"no vendor {vendor!r} (see `GET /api/vendors`)")
                verified = await vendor_changes.verify(session, found.id, actor)
                return f"verified {verified.name}, paid at {verified.payout_address}"
        finally:
            await engine.dispose()

    console.print(run_command(go()))
