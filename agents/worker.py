"""`treasurer worker`: runs the treasurer graph for invoices submitted asynchronously.

Workers scale apart from the API: any number of them share one consumer group. Correctness does not
depend on a single delivery: the graph is idempotent per invoice, so an entry processed twice (a
worker that died before its XACK) continues the same thread and pays at most once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from redis.asyncio import Redis
from sqlalchemy import select

from agents.reconciler import reconcile
from agents.runtime import Treasurer, open_treasurer
from finance.errors import ChainMisconfigured
from finance.intake import InvoiceIntake, QueueLost
from finance.models import Invoice, InvoiceStatus
from finance.settings import Settings

log = logging.getLogger("treasurer.worker")
_UNFINISHED = (InvoiceStatus.RECEIVED, InvoiceStatus.PROCESSING, InvoiceStatus.PAYING)


async def requeue_unfinished(treasurer: Treasurer, intake: InvoiceIntake) -> int:
    """Rebuild the queue from PostgreSQL: Redis holds nothing that cannot be recovered this way."""
    async with treasurer.sessions() as session:
        ids = list(await session.scalars(select(Invoice.id).where(Invoice.status.in_(_UNFINISHED))))
    for invoice_id in ids:
        await intake.enqueue(invoice_id)
    return len(ids)


async def _ensure_queue(treasurer: Treasurer, intake: InvoiceIntake) -> None:
    # Only a missing group means Redis lost the queue; re-adding on every start would feed each
    # invoice to the workers once per restart (harmless, the graph is idempotent, but wasted work).
    if await intake.ensure_group():
        requeued = await requeue_unfinished(treasurer, intake)
        log.warning(
            "intake queue %s was missing; %d unfinished invoices requeued from PostgreSQL", intake.stream, requeued
        )


async def run_worker(
    settings: Settings,
    *,
    consumer: str | None = None,
    max_invoices: int | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    if settings.embedded_chain:
        raise ChainMisconfigured(
            "a worker needs a chain it shares with the API (TREASURER_CHAIN_RPC_URL); "
            "the embedded EVM lives inside a single process"
        )
    consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass

    redis = Redis.from_url(settings.redis_url)
    intake = InvoiceIntake(redis, settings.intake_stream, settings.worker_group)
    processed = 0
    try:
        async with open_treasurer(settings) as treasurer:
            await _ensure_queue(treasurer, intake)
            # Payments a dead worker left in flight are finished before new work is taken. Invoices touched
            # within the last receipt timeout may belong to a live worker and are left to the next round.
            idle = settings.receipt_timeout_seconds + settings.stuck_after_seconds
            await reconcile(treasurer, idle_seconds=idle)
            next_reconcile = loop.time() + settings.reconcile_interval_seconds
            log.info("worker %s started", consumer)
            while not stop.is_set() and (max_invoices is None or processed < max_invoices):
                if loop.time() >= next_reconcile:
                    await reconcile(treasurer, idle_seconds=idle)
                    next_reconcile = loop.time() + settings.reconcile_interval_seconds
                try:
                    entries = await intake.read(consumer, count=8, block_ms=500)
                except QueueLost:
                    await _ensure_queue(treasurer, intake)
                    continue
                results = await asyncio.gather(
                    *(_handle(treasurer, intake, e) for e in entries), return_exceptions=False
                )
                processed += sum(results)
    finally:
        await redis.aclose()
    return processed


async def _handle(treasurer: Treasurer, intake: InvoiceIntake, entry) -> int:  # noqa: ANN001
    try:
        result = await treasurer.process(entry.invoice_id)
    except Exception:  # noqa: BLE001 - left unacknowledged: it is retried, then dead-lettered
        log.exception("invoice %s failed in the worker; it will be retried", entry.invoice_id)
        return 0
    # Acknowledge only now: the outcome is committed in PostgreSQL.
    await intake.ack(entry.entry_id)
    log.info("invoice %s -> %s", entry.invoice_id, result.status.value)
    return 1
