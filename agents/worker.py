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
import uuid

from redis.asyncio import Redis
from sqlalchemy import select

from agents.approvals.dispatch import announce
from agents.approvals.scheduler import tick
from agents.reconciler import reconcile
from agents.runtime import Treasurer, open_treasurer
from finance.approvals.queue import ApprovalQueue
from finance.audit.anchors import Anchorer
from finance.chain.client import TRANSIENT
from finance.errors import ChainMisconfigured, TreasurerError
from finance.models import Invoice, InvoiceStatus, utcnow
from finance.settings import Settings
from finance.streams import InvoiceIntake, QueueLost, StreamEntry, read_streams

log = logging.getLogger("treasurer.worker")
# Entries handled at once by one worker: enough to overlap payments waiting on the chain, few enough that
# one process's CPU (and its database pool) is not spread too thin.
CAPACITY = 8
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
    queue: ApprovalQueue = treasurer.approval_queue
    if await queue.ensure_groups():
        rebuilt = await queue.rebuild(treasurer.sessions, utcnow())
        log.warning(
            "approval queues were missing; rebuilt from PostgreSQL: %d mails, %d resumes, %d timers",
            rebuilt.notifications,
            rebuilt.resumes,
            rebuilt.timers,
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
    tick_every = min(settings.approval_tick_seconds, settings.reconcile_interval_seconds)
    try:
        async with open_treasurer(settings) as treasurer:
            await _ensure_queue(treasurer, intake)
            # Payments a dead worker left in flight are finished before new work is taken. Invoices touched
            # within the last receipt timeout may belong to a live worker and are left to the next round.
            idle = settings.receipt_timeout_seconds + settings.stuck_after_seconds
            await reconcile(treasurer, idle_seconds=idle)
            next_reconcile = loop.time() + settings.reconcile_interval_seconds
            next_tick = loop.time()
            anchorer = Anchorer(treasurer.sessions, treasurer.context.chain, settings)
            # Looked at more often than the interval: the database, not this process, knows when the last
            # anchor went out (any worker may have sent it), and anchors in flight need their receipts.
            anchor_every = min(settings.anchor_interval_seconds, settings.reconcile_interval_seconds)
            next_anchor = loop.time()
            streams = {s.stream: s for s in (intake, *treasurer.approval_queue.streams)}
            # Entries run as tasks, up to CAPACITY at once, and a free slot is filled as soon as it frees:
            # an approval's resume never waits for the slowest payment of an earlier batch to confirm.
            running: dict[tuple[str, uuid.UUID], list[StreamEntry]] = {}
            tasks: set[asyncio.Task[int]] = set()
            log.info("worker %s started", consumer)
            while not stop.is_set() and (max_invoices is None or processed < max_invoices):
                if loop.time() >= next_reconcile:
                    await reconcile(treasurer, idle_seconds=idle)
                    next_reconcile = loop.time() + settings.reconcile_interval_seconds
                if loop.time() >= next_anchor:
                    await _keep_the_trail(anchorer)
                    next_anchor = loop.time() + anchor_every
                if loop.time() >= next_tick:
                    await tick(treasurer.sessions, treasurer.approvals, treasurer.approval_queue)
                    next_tick = loop.time() + tick_every
                processed += _harvest(tasks)
                if len(tasks) >= CAPACITY:
                    await asyncio.wait(tasks, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    entries = await read_streams(
                        list(streams.values()), consumer, count=CAPACITY - len(tasks), block_ms=200 if tasks else 500
                    )
                except QueueLost:
                    await _ensure_queue(treasurer, intake)
                    continue
                for entry in entries:
                    key = (entry.stream, entry.item_id)
                    if key in running:
                        # The same id again (a requeue beside the original entry) joins the run under way and
                        # is acknowledged with it: two concurrent runs of one thread would only race each other.
                        running[key].append(entry)
                        continue
                    running[key] = [entry]
                    tasks.add(asyncio.create_task(_handle(treasurer, streams[entry.stream], key, running)))
            # Let the work under way finish (its entries are acknowledged) before the treasurer closes.
            if tasks:
                await asyncio.wait(tasks)
                processed += _harvest(tasks)
    finally:
        await redis.aclose()
    return processed


async def _keep_the_trail(anchorer: Anchorer) -> None:
    try:
        anchor = await anchorer.tick()
    except (TreasurerError, *TRANSIENT) as exc:
        # No gas, node down: payments matter more than the anchor; the next round tries again.
        log.warning("anchoring the decision log failed: %s", exc)
        return
    if anchor is not None:
        log.info("decision log anchored at seq %d: tx %s", anchor.seq, anchor.tx_hash)


def _harvest(tasks: set[asyncio.Task[int]]) -> int:
    finished = {t for t in tasks if t.done()}
    tasks -= finished
    return sum(t.result() for t in finished)


async def _handle(treasurer: Treasurer, stream, key: tuple, running: dict) -> int:
    """Handle one id, acknowledging every entry that carried it. Returns how many invoices it finished
    (for `max_invoices`)."""
    queue = treasurer.approval_queue
    entry = running[key][0]
    try:
        if stream is queue.requests:
            mails = await announce(treasurer.sessions, treasurer.approvals, entry.item_id)
            log.info("approval request %s announced: %d mail(s)", entry.item_id, mails)
            done = 0
        elif stream is queue.notify:
            outcome = await treasurer.mailer.send(entry.item_id)
            log.info("approval mail %s: %s", entry.item_id, outcome)
            done = 0
        elif stream is queue.ready:
            result = await treasurer.resume_approval(entry.item_id)
            if result is not None:
                log.info("approval %s resumed: invoice %s -> %s", entry.item_id, result.invoice_id, result.status.value)
            done = 0
        else:
            result = await treasurer.process(entry.item_id)
            log.info("invoice %s -> %s", entry.item_id, result.status.value)
            done = 1
    except Exception:  # left unacknowledged: it is retried, then dead-lettered
        log.exception(
            "%s entry %s (%s) failed in the worker; it will be retried", stream.stream, entry.entry_id, entry.item_id
        )
        running.pop(key, None)
        return 0
    # Acknowledge only now: the outcome is committed in PostgreSQL.
    for handled in running.pop(key):
        await stream.ack(handled.entry_id)
    return done
