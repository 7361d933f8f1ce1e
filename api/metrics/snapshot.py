"""What a scrape reads from PostgreSQL and Redis.

Invoice and payment counts and queue depths are read when Prometheus asks, not kept in process: they are then
the same on every replica and survive restarts. A dependency that fails to answer drops its series (and sets
`treasurer_metrics_source_up` to 0) instead of failing the scrape, so latency metrics stay visible in an outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from finance.models import Invoice, Payment, PaymentStatus
from finance.money import from_base_units

log = logging.getLogger("treasurer.metrics")
_TIMEOUT = 2.0


@dataclass
class Snapshot:
    """What one scrape read from the system of record and the queues."""

    invoices: dict[str, int] | None = None
    payments: dict[str, int] | None = None
    confirmed_units: int = 0
    queues: dict[str, int] = field(default_factory=dict)
    redis_up: bool = False

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "treasurer_metrics_source_up", "1 if the scrape could read this source.", labels=["source"]
        )
        up.add_metric(["database"], 0 if self.invoices is None else 1)
        up.add_metric(["redis"], 1 if self.redis_up else 0)
        yield up
        # Gauges, not counters: an invoice leaves "pending_approval" when it is paid, so a status count goes down.
        for name, doc, counts in (
            ("treasurer_invoices", "Invoices by current status (PostgreSQL).", self.invoices),
            ("treasurer_payments", "Payments by current status (PostgreSQL).", self.payments),
        ):
            if counts is not None:
                family = GaugeMetricFamily(name, doc, labels=["status"])
                for status, count in sorted(counts.items()):
                    family.add_metric([status], count)
                yield family
        depth = GaugeMetricFamily("treasurer_queue_depth", "Entries in each Redis stream (XLEN).", labels=["stream"])
        for stream, length in sorted(self.queues.items()):
            depth.add_metric([stream], length)
        yield depth


class _Joined:
    """The process registry plus one scrape's snapshot, as one collector for `generate_latest`."""

    def __init__(self, *parts: object) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()  # type: ignore[attr-defined]


def joined(*parts: object) -> _Joined:
    return _Joined(*parts)


async def take_snapshot(app_state: object) -> Snapshot:
    settings = app_state.settings  # type: ignore[attr-defined]
    snapshot = Snapshot()
    streams = [
        settings.intake_stream,
        settings.approvals_requests_stream,
        settings.approvals_notify_stream,
        settings.approvals_ready_stream,
    ]

    async def database() -> None:
        async with app_state.treasurer.sessions() as session:  # type: ignore[attr-defined]
            invoices = await session.execute(select(Invoice.status, func.count()).group_by(Invoice.status))
            payments = await session.execute(select(Payment.status, func.count()).group_by(Payment.status))
            confirmed = await session.scalar(
                select(func.coalesce(func.sum(Payment.amount_units), 0)).where(
                    Payment.status == PaymentStatus.CONFIRMED
                )
            )
        snapshot.invoices = {str(s): int(n) for s, n in invoices}
        snapshot.payments = {str(s): int(n) for s, n in payments}
        snapshot.confirmed_units = int(confirmed or 0)

    async def queues() -> None:
        pipe = app_state.redis.pipeline(transaction=False)  # type: ignore[attr-defined]
        for stream in streams:
            pipe.xlen(stream)
        lengths = await pipe.execute()
        snapshot.queues = dict(zip(streams, (int(n) for n in lengths), strict=True))
        snapshot.redis_up = True

    results = await asyncio.gather(
        asyncio.wait_for(database(), _TIMEOUT), asyncio.wait_for(queues(), _TIMEOUT), return_exceptions=True
    )
    for source, result in zip(("database", "redis"), results, strict=True):
        if isinstance(result, BaseException):
            log.warning("metrics scrape could not read %s: %s", source, type(result).__name__)
    return snapshot


def amount_processed(snapshot: Snapshot, decimals: int) -> Decimal:
    return from_base_units(snapshot.confirmed_units, decimals)
