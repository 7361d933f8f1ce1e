"""What the dashboard shows, computed from the chain and PostgreSQL. A chain that cannot be reached is an
alert on the dashboard, not an error page: the people who must act on it are the ones looking."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from agents.runtime import Treasurer
from api.dashboard.schemas import Alert, DashboardOut, LogEntry
from finance.approvals.counts import waiting_approvals
from finance.chain.client import TRANSIENT
from finance.decision_queries import RecentDecision, recent_decisions
from finance.models import as_utc, utcnow
from finance.money import from_base_units
from finance.payments.queries import failed_since, in_flight_since
from finance.runway import Runway
from finance.settings import Settings
from tools import treasury

log = logging.getLogger("treasurer.dashboard")

RUNWAY_CRITICAL_MONTHS = Decimal(1)
RUNWAY_WARNING_MONTHS = Decimal(3)
_RECENT = timedelta(hours=24)
# The chain client retries for many seconds; a dashboard says "unreachable" sooner than that.
_CHAIN_TIMEOUT_SECONDS = 5.0
_SEVERITY = {"info": 0, "warning": 1, "critical": 2}


def token_amount(units: int, decimals: int) -> str:
    # Fixed-point text: str() of a Decimal may use an exponent ("0E-6"), which clients would misread.
    return format(from_base_units(units, decimals), "f")


@dataclass
class _Alerts:
    items: list[Alert] = field(default_factory=list)

    def add(self, level: str, code: str, message: str) -> None:
        self.items.append(Alert(level=level, code=code, message=message))

    @property
    def status(self) -> str:
        worst = max((_SEVERITY[a.level] for a in self.items), default=0)
        return "ok" if worst == 0 else ("warning" if worst == 1 else "critical")


async def _runway_or_none(treasurer: Treasurer, settings: Settings) -> Runway | None:
    ctx = treasurer.context
    try:
        # Looked up on the module at call time, so a test can stand in for an unreachable chain.
        return await asyncio.wait_for(
            treasury.treasury_runway(treasurer.sessions, ctx.chain, ctx.token, settings), _CHAIN_TIMEOUT_SECONDS
        )
    except TRANSIENT as exc:
        log.warning("dashboard: treasury balance unavailable (%s)", type(exc).__name__)
        return None


def _runway_alerts(alerts: _Alerts, runway: Runway | None) -> None:
    if runway is None:
        alerts.add("critical", "chain_unreachable", "the chain node cannot be reached: balance and runway are unknown")
        return
    months = runway.months
    if months is None:
        return  # nothing burns: unlimited runway
    if months < RUNWAY_CRITICAL_MONTHS:
        alerts.add("critical", "runway_critical", f"runway is {months} months, under {RUNWAY_CRITICAL_MONTHS} month")
    elif months < RUNWAY_WARNING_MONTHS:
        alerts.add("warning", "runway_low", f"runway is {months} months, under {RUNWAY_WARNING_MONTHS} months")


async def _attention_alerts(alerts: _Alerts, treasurer: Treasurer, settings: Settings, now: datetime) -> None:
    async with treasurer.sessions() as session:
        approvals = await waiting_approvals(session, due_before=now + _RECENT)
        stuck = await in_flight_since(session, now - timedelta(seconds=settings.receipt_timeout_seconds))
        failed = await failed_since(session, now - _RECENT)
    if approvals.pending:
        alerts.add("info", "approvals_pending", f"{approvals.pending} invoice(s) waiting for approval")
    if approvals.due_soon:
        alerts.add("warning", "approvals_due_soon", f"{approvals.due_soon} approval request(s) expire within 24 h")
    if stuck:
        alerts.add(
            "warning",
            "payments_stuck",
            f"{stuck} payment(s) in flight for more than {settings.receipt_timeout_seconds:g} s",
        )
    if failed:
        alerts.add("warning", "payments_failed", f"{failed} payment(s) failed in the last 24 h")


async def dashboard(treasurer: Treasurer, settings: Settings) -> DashboardOut:
    decimals = treasurer.context.token.decimals
    runway = await _runway_or_none(treasurer, settings)
    alerts = _Alerts()
    _runway_alerts(alerts, runway)
    await _attention_alerts(alerts, treasurer, settings, utcnow())
    return DashboardOut(
        status=alerts.status,
        treasury_balance=token_amount(runway.balance_units, decimals) if runway else None,
        currency=settings.token_currency,
        monthly_burn=token_amount(runway.monthly_burn_units, decimals) if runway else None,
        runway_months=float(runway.months) if runway and runway.months is not None else None,
        alerts=alerts.items,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _log_entry(recent: RecentDecision, decimals: int) -> LogEntry:
    row = recent.decision
    details = row.details or {}
    snapshot = details.get("snapshot") if isinstance(details.get("snapshot"), dict) else {}
    facts = details.get("facts") if isinstance(details.get("facts"), dict) else {}
    if row.step == "evaluate" and facts.get("amount") is not None:
        required = _text(facts["amount"])  # the amount exactly as the policy weighed it
    elif recent.invoice_total_units is not None:
        required = token_amount(recent.invoice_total_units, decimals)
    else:
        required = None
    created_at = as_utc(row.created_at)
    return LogEntry(
        timestamp=created_at.isoformat(),
        event=row.step,
        balance=_text(snapshot.get("balance")) if row.step == "evaluate" else None,
        status=row.outcome,
        tx_hash=_text(details.get("tx_hash")),
        required=required,
        reason=row.reason,
    )


async def logs(treasurer: Treasurer, limit: int) -> list[LogEntry]:
    async with treasurer.sessions() as session:
        rows = await recent_decisions(session, limit)
    return [_log_entry(r, treasurer.context.token.decimals) for r in rows]
