"""`treasurer approvals requeue|list|tick`: the approvals queue seen from a terminal."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from api.commands.running import console, run_command
from finance.errors import TreasurerError
from finance.models import ApprovalRequest, ApprovalStatus, utcnow
from finance.settings import get_settings

approvals_app = typer.Typer(help="Approval requests and their queue.", no_args_is_help=True)


@approvals_app.command("requeue")
def requeue() -> None:
    """Rebuild the approval queues in Redis from PostgreSQL: unsent mails, owed resumes and timers.
    Safe at any time: every consumer is idempotent, so an entry queued twice is handled once."""
    from agents.runtime import open_treasurer

    async def go():
        async with open_treasurer(get_settings()) as treasurer:
            if treasurer.approval_queue is None:
                raise TreasurerError("the embedded default has no queue: approvals are dispatched in-process")
            return await treasurer.approval_queue.rebuild(treasurer.sessions, utcnow())

    report = run_command(go())
    console.print(f"requeued {report.notifications} mails, {report.resumes} resumes and {report.timers} timers")


@approvals_app.command("list")
def list_requests(
    status: str = typer.Option("pending", help="pending, approved, rejected, expired, cancelled or all"),
) -> None:
    """Approval requests, soonest deadline first."""
    from finance.db import create_engine, session_factory

    async def go():
        engine = create_engine(get_settings().database_url)
        try:
            async with session_factory(engine)() as session:
                query = select(ApprovalRequest).order_by(ApprovalRequest.deadline).limit(500)
                if status != "all":
                    query = query.where(ApprovalRequest.status == ApprovalStatus(status))
                return list(await session.scalars(query))
        finally:
            await engine.dispose()

    rows = run_command(go())
    table = Table(title=f"Approval requests ({status})")
    for column in ("id", "invoice", "status", "tier", "quorum", "approvers", "deadline"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.id), str(r.invoice_id), r.status, r.tier, str(r.quorum), ", ".join(r.approvers), str(r.deadline)
        )
    console.print(table)
