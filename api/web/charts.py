"""The dashboard's chart: the treasury balance over the last 90 days, rebuilt backwards from today's
on-chain balance and the payments settled since, then the projected runway at the current burn.

Rendered as SVG on the server: no chart library, nothing loaded from elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

WIDTH, HEIGHT, PAD = 640, 220, 36


@dataclass(frozen=True)
class BalanceChart:
    history: str  # SVG polyline points
    projection: str
    y_max: Decimal
    start: datetime
    end: datetime
    zero_at: datetime | None  # when the projection reaches zero, within the chart


def balance_chart(
    now: datetime,
    balance: Decimal,
    monthly_burn: Decimal,
    settled: list[tuple[datetime, Decimal]],
    *,
    days_back: int = 90,
    days_ahead: int = 365,
) -> BalanceChart:
    start, end = now - timedelta(days=days_back), now + timedelta(days=days_ahead)
    # Walking back from now, the balance before each payment was the balance after it plus its amount.
    points = [(now, balance)]
    running = balance
    for moment, amount in sorted(settled, key=lambda p: p[0], reverse=True):
        if moment < start:
            break
        points.append((moment, running))
        running += amount
        points.append((moment, running))
    points.append((start, running))
    points.reverse()
    daily = monthly_burn / 30 if monthly_burn > 0 else Decimal(0)
    zero_at = now + timedelta(days=float(balance / daily)) if daily > 0 else None
    horizon = min(end, zero_at) if zero_at else end
    remaining = max(balance - daily * Decimal((horizon - now).total_seconds() / 86400), Decimal(0))
    projection = [(now, balance), (horizon, remaining)]
    y_max = max([p[1] for p in points] + [balance, Decimal(1)]) * Decimal("1.1")

    def xy(moment: datetime, value: Decimal) -> str:
        x = PAD + (moment - start).total_seconds() / (end - start).total_seconds() * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - float(value / y_max) * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    return BalanceChart(
        history=" ".join(xy(m, v) for m, v in points),
        projection=" ".join(xy(m, v) for m, v in projection),
        y_max=y_max,
        start=start,
        end=end,
        zero_at=zero_at if zero_at and zero_at <= end else None,
    )
