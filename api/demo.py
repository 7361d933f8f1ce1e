"""`treasurer demo`: the whole path on embedded defaults, with nothing configured.

A fresh SQLite file and an in-process EVM each run, so the demo always starts from the same state
and never touches a real database or chain.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agents.policy_versions import load_active_policy
from agents.runtime import Treasurer, open_treasurer
from api.users.service import create_user
from finance import vendor_changes
from finance.audit.anchors import Anchorer, wait_until_mined
from finance.audit.verification import verify_against_chain
from finance.identity import Actor
from finance.invoices import InvoiceRepository
from finance.migrations.runner import upgrade_async
from finance.money import from_base_units
from finance.settings import EMBEDDED, Settings
from finance.vendors import VendorRepository
from tools.treasury import treasury_runway

# The demo company's people, one duty each: the CFO submits, ops registers vendors, the ops lead verifies them,
# the controller approves. Nobody can sign in as them: their passwords are random and never shown.
DEMO_PEOPLE = {
    "cfo": ("cfo@example.com", ["cfo"]),
    "controller": ("controller@example.com", ["approver"]),
    "ops": ("ops@example.com", ["ops"]),
    "ops_lead": ("ops.lead@example.com", ["ops"]),
}
DEMO_SUBMITTER = DEMO_PEOPLE["cfo"][0]
_STYLE = {"paid": "green", "pending_approval": "yellow", "blocked": "red", "failed": "red", "paying": "cyan"}


def sample_invoices() -> list[tuple[str, str]]:
    folder = resources.files("api") / "samples"
    return sorted((p.name, p.read_text()) for p in folder.iterdir() if p.name.endswith(".txt"))


def sample_vendors() -> list[dict]:
    return json.loads((resources.files("api") / "samples" / "vendors.json").read_text())


def _fresh_folder(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)


async def run_demo(workdir: Path, console: Console) -> list[dict]:
    await asyncio.to_thread(_fresh_folder, workdir)
    settings = Settings(
        environment="dev",
        database_url=f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        chain_rpc_url=EMBEDDED,
        token_address=None,
        chain_id=None,
        wallet_private_key=None,
        wallet_keystore_path=None,
        outbox_dir=workdir / "outbox",
        anchor_file=workdir / "anchors.jsonl",
    )
    console.print(f"[bold]Treasurer demo[/] - database {workdir / 'demo.db'}, in-process EVM")
    await upgrade_async(settings.database_url)
    rows = []
    mail_lines: list[str] = []
    async with open_treasurer(settings, bootstrap_chain=True, mail_echo=mail_lines.append) as treasurer:
        token = treasurer.context.token
        console.print(
            f"stablecoin {token.symbol} ({token.decimals} decimals) at {token.address}, "
            f"treasury {treasurer.context.chain.treasury_address}"
        )
        async with treasurer.sessions.begin() as session:
            people = await _demo_people(session)
            vendors = VendorRepository(session)
            for vendor in sample_vendors():
                added = await vendors.add(
                    vendor["name"], vendor["payout_address"], vendor.get("aliases"), registered_by=people["ops"]
                )
                # Four eyes: one person registers a vendor, another verifies it before anything is paid.
                await vendor_changes.verify(session, added.id, people["ops_lead"])
        async with treasurer.sessions() as session:
            policy = await load_active_policy(session)
        console.print(
            f"registered {len(sample_vendors())} vendors ({DEMO_PEOPLE['ops'][0]}), verified by "
            f"{DEMO_PEOPLE['ops_lead'][0]}; policy version {policy.version} "
            f"({len(policy.document.rules)} rules, per-invoice limit {settings.invoice_limit} "
            f"{policy.document.currency})\n"
        )

        for name, text in sample_invoices():
            # Submitted by the CFO, who therefore cannot approve them: the controller is asked.
            invoice_id = await treasurer.submit(text, submitted_by=people["cfo"])
            result = await treasurer.process(invoice_id)
            async with treasurer.sessions() as session:
                invoice = await InvoiceRepository(session).get(invoice_id)
            amount = (
                f"{from_base_units(invoice.total_units, token.decimals):,.2f} {invoice.currency or ''}".strip()
                if invoice.total_units is not None
                else "-"
            )
            rows.append(
                {
                    "file": name,
                    "invoice": invoice.invoice_number or "-",
                    "vendor": invoice.vendor_name or "-",
                    "amount": amount,
                    "decision": result.status.value,
                    "reason": result.reason or "",
                    "tx_hash": result.tx_hash or "",
                    "invoice_id": invoice_id,
                }
            )

        console.print(_table(rows))
        for row in rows:
            if row["tx_hash"]:
                console.print(f"  {row['invoice']}: tx {row['tx_hash']}")
        await _approve_pending(treasurer, rows, mail_lines, settings.outbox_dir, console)
        runway = await treasury_runway(treasurer.sessions, treasurer.context.chain, token, settings)

        def money(units: int) -> str:
            return f"{from_base_units(units, token.decimals):,.2f}"

        console.print(
            f"treasury balance: [bold]{money(runway.balance_units)} {token.symbol}[/] on chain, "
            f"{money(runway.reserved_units)} reserved"
        )
        months = "unlimited (nothing burns)" if runway.months is None else f"{runway.months} months"
        console.print(
            f"runway: [bold]{months}[/] = spendable {money(runway.spendable_units)} / monthly burn "
            f"{money(runway.monthly_burn_units)} (baseline {money(runway.baseline_monthly_burn_units)} while "
            f"history is {runway.history_days} of {runway.window_days} days, + {money(runway.committed_units)} "
            f"awaiting approval)"
        )
        await _anchor_the_trail(treasurer, settings, console)
    return rows


async def _anchor_the_trail(treasurer: Treasurer, settings: Settings, console: Console) -> None:
    """Anchor the decision log's head on the in-process chain and check the log against it, as
    `treasurer audit anchor` and `audit verify --against-chain` do on a real one."""
    chain = treasurer.context.chain
    anchorer = Anchorer(treasurer.sessions, chain, settings)
    anchor = await wait_until_mined(anchorer, await anchorer.anchor_now())
    async with treasurer.sessions() as session:
        trail = await verify_against_chain(session, chain, settings.anchor_file)
    verdict = "intact" if trail.intact else f"tampered from seq {trail.first_bad_seq}"
    console.print(
        f"decision log anchored on chain at seq {anchor.seq} (tx {anchor.tx_hash}, {anchor.gas_used:,} gas); "
        f"checked against the chain: {verdict}"
    )


async def _approve_pending(treasurer, rows: list[dict], mail_lines: list[str], outbox: Path, console: Console) -> None:
    """Show the approval mail the demo wrote, then act as the approver clicking Approve on its page."""
    from api.approvals.service import vote
    from finance.approvals.queries import request_for_invoice

    pending = [row for row in rows if row["decision"] == "pending_approval"]
    if not pending:
        return
    console.print(f"\n[bold]Approvals[/] - mails written to {outbox} (no SMTP server configured):")
    for line in mail_lines:
        console.print(f"  {line}", soft_wrap=True)
    for row in pending:
        async with treasurer.sessions() as session:
            request = await request_for_invoice(session, row["invoice_id"])
        approver = request.approvers[0]
        await vote(
            treasurer,
            request.id,
            Actor(user_id=None, name=approver),
            "approve",
            channel="link",
            comment="approved in the demo",
        )
        result = await treasurer.result(row["invoice_id"])
        console.print(
            f"  {row['invoice']}: approved by {approver} (the demo clicks the link) -> [bold]{result.status.value}[/]"
            + (f", tx {result.tx_hash}" if result.tx_hash else "")
        )
        row["approved_status"] = result.status.value


async def _demo_people(session: AsyncSession) -> dict[str, Actor]:
    people = {}
    for duty, (email, roles) in DEMO_PEOPLE.items():
        user = await create_user(session, email, secrets.token_urlsafe(24), roles, created_by="treasurer demo")
        people[duty] = Actor(user_id=user.id, name=user.email)
    return people


def _table(rows: list[dict]) -> Table:
    table = Table(title="Invoices processed", show_lines=True)
    table.add_column("invoice", overflow="fold")
    table.add_column("vendor", overflow="fold")
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("decision", no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=28)
    table.add_column("tx hash", no_wrap=True)
    for row in rows:
        style = _STYLE.get(row["decision"], "")
        tx = f"{row['tx_hash'][:8]}…{row['tx_hash'][-6:]}" if row["tx_hash"] else ""
        table.add_row(
            row["invoice"],
            row["vendor"],
            row["amount"],
            f"[{style}]{row['decision']}[/]" if style else row["decision"],
            row["reason"],
            tx,
        )
    return table
