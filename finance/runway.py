"""Cash runway: how many months the spendable balance lasts at the current burn.

spendable = on-chain balance - reserved (payments in flight)
burn      = settled outflows over the trailing window, per 30 days (or the configured baseline while
            history is shorter than the window, when that is higher) + invoices awaiting approval
runway    = spendable / burn   (None when nothing burns: infinite)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import as_utc, utcnow
from finance.spend import committed_outflows, settled_outflows

_DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Runway:
    as_of: datetime
    balance_units: int
    reserved_units: int
    window_days: int
    settled_in_window_units: int
    history_days: int
    observed_monthly_burn_units: int
    baseline_monthly_burn_units: int
    committed_units: int
    monthly_burn_units: int

    @property
    def spendable_units(self) -> int:
        return self.balance_units - self.reserved_units

    @property
    def months(self) -> Decimal | None:
        if self.monthly_burn_units <= 0:
            return None
        ratio = Decimal(self.spendable_units) / Decimal(self.monthly_burn_units)
        return ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def compute_runway(
    session: AsyncSession,
    *,
    balance_units: int,
    reserved_units: int,
    window_days: int,
    baseline_monthly_burn_units: int,
    now: datetime | None = None,
) -> Runway:
    now = now or utcnow()
    settled, oldest = await settled_outflows(session, now - timedelta(days=window_days))
    oldest = as_utc(oldest) if oldest is not None else None
    history_days = min(window_days, (now - oldest).days) if oldest else 0
    observed = settled * _DAYS_PER_MONTH // window_days
    # With little history, a quiet first week would promise years of runway; the baseline keeps it honest.
    base = max(observed, baseline_monthly_burn_units) if history_days < window_days else observed
    committed = await committed_outflows(session)
    return Runway(
        as_of=now,
        balance_units=balance_units,
        reserved_units=reserved_units,
        window_days=window_days,
        settled_in_window_units=settled,
        history_days=history_days,
        observed_monthly_burn_units=observed,
        baseline_monthly_burn_units=baseline_monthly_burn_units,
        committed_units=committed,
        monthly_burn_units=base + committed,
    )
