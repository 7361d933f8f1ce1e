"""What the pages show, read from the system of record (routes only render it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from agents.runtime import Treasurer
from api.web.charts import BalanceChart, balance_chart
from finance.api_keys import Principal
from finance.approvals.queries import request_for_invoice, requests_for_approver
from finance.chain.client import TRANSIENT
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalVote,
    Decision,
    Invoice,
    Payment,
    PaymentStatus,
    utcnow,
)
from finance.money import from_base_units
from tools.treasury import treasury_runway


@dataclass
class Dashboard:
    balance: Decimal | None
    reserved: Decimal | None
    monthly_burn: Decimal | None
    runway_months: Decimal | None
    chart: BalanceChart | None
    chain_error: str | None
    waiting: list[tuple[ApprovalRequest, Invoice]]
    recent: list[Decision]
    last_decision_id: int


async def dashboard(treasurer: Treasurer, principal: Principal) -> Dashboard:
    ctx = treasurer.context
    money = lambda units: from_base_units(units, ctx.token.decimals)  # noqa: E731
    balance = reserved = burn = months = chart = error = None
    try:
        runway = await treasury_runway(treasurer.sessions, ctx.chain, ctx.token, ctx.settings)
        balance, reserved, burn = (
            money(runway.balance_units),
            money(runway.reserved_units),
            money(runway.monthly_burn_units),
        )
        months = runway.months
    except TRANSIENT as exc:
        # The page still shows what PostgreSQL knows; only the chain's figures are missing.
        error = f"the chain node is unreachable ({type(exc).__name__})"
    async with treasurer.sessions() as session:
        if balance is not None:
            since = utcnow() - timedelta(days=90)
            settled = await session.execute(
                select(Payment.settled_at, Payment.amount_units).where(
                    Payment.status == PaymentStatus.CONFIRMED, Payment.settled_at >= since
                )
            )
            chart = balance_chart(utcnow(), balance, burn, [(when, money(units)) for when, units in settled])
        if "approver" in principal.roles:
            requests = await requests_for_approver(session, principal.name)
        else:
            requests = list(
                await session.scalars(
                    select(ApprovalRequest)
                    .where(ApprovalRequest.status == ApprovalStatus.PENDING)
                    .order_by(ApprovalRequest.deadline)
                    .limit(20)
                )
            )
        waiting = [(r, await session.get(Invoice, r.invoice_id)) for r in requests]
        recent = list(await session.scalars(select(Decision).order_by(Decision.id.desc()).limit(15)))
    return Dashboard(balance, reserved, burn, months, chart, error, waiting, recent, recent[0].id if recent else 0)


@dataclass
class InvoicePage:
    invoice: Invoice
    total: Decimal | None
    decisions: list[Decision]
    payment: Payment | None
    approval: ApprovalRequest | None
    votes: list[ApprovalVote]
    may_vote: bool


async def invoice_page(treasurer: Treasurer, invoice_id: uuid.UUID, principal: Principal) -> InvoicePage:
    async with treasurer.sessions() as session:
        # The trail first: every read after it is at least as new. The page reloads on any decision after the
        # last one it shows, so a status newer than the trail is soon shown with its decision; read the other
        # way round, a status older than the trail would stay on screen with nothing left to replace it.
        decisions = await DecisionLog(session).for_invoice(invoice_id)
        invoice = await InvoiceRepository(session).get(invoice_id)
        payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
        approval = await request_for_invoice(session, invoice_id)
        votes = (
            list(await session.scalars(select(ApprovalVote).where(ApprovalVote.request_id == approval.id)))
            if approval
            else []
        )
    me = principal.name.casefold()
    may_vote = bool(
        approval
        and approval.status == ApprovalStatus.PENDING
        and me in (approval.approvers or [])
        and all(v.approver != me for v in votes)
    )
    total = (
        from_base_units(invoice.total_units, treasurer.context.token.decimals)
        if invoice.total_units is not None
        else None
    )
    return InvoicePage(invoice, total, decisions, payment, approval, votes, may_vote)
