"""The treasury's position: balance, reservations, burn and runway, with every input shown."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import ReaderPrincipal
from api.deps import TreasurerDep
from finance.money import from_base_units
from tools.treasury import treasury_runway

router = APIRouter(prefix="/api/treasury", tags=["treasury"])


class RunwayOut(BaseModel):
    as_of: datetime
    currency: str
    token: str
    balance: Decimal
    reserved: Decimal
    spendable: Decimal
    window_days: int
    history_days: int
    settled_in_window: Decimal
    observed_monthly_burn: Decimal
    baseline_monthly_burn: Decimal
    committed: Decimal
    monthly_burn: Decimal
    runway_months: Decimal | None
    formula: str = (
        "runway_months = spendable / monthly_burn; spendable = balance - reserved; monthly_burn = "
        "settled_in_window * 30 / window_days (or the baseline while history_days < window_days, when higher) "
        "+ committed (invoices awaiting approval)"
    )


@router.get("/runway", response_model=RunwayOut)
async def runway(treasurer: TreasurerDep, _: ReaderPrincipal) -> RunwayOut:
    ctx = treasurer.context
    figures = await treasury_runway(ctx.sessions, ctx.chain, ctx.token, ctx.settings)

    def money(units: int) -> Decimal:
        return from_base_units(units, ctx.token.decimals)

    return RunwayOut(
        as_of=figures.as_of,
        currency=treasurer.context.settings.token_currency,
        token=ctx.token.symbol,
        balance=money(figures.balance_units),
        reserved=money(figures.reserved_units),
        spendable=money(figures.spendable_units),
        window_days=figures.window_days,
        history_days=figures.history_days,
        settled_in_window=money(figures.settled_in_window_units),
        observed_monthly_burn=money(figures.observed_monthly_burn_units),
        baseline_monthly_burn=money(figures.baseline_monthly_burn_units),
        committed=money(figures.committed_units),
        monthly_burn=money(figures.monthly_burn_units),
        runway_months=figures.months,
    )
