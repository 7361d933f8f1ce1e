"""Asynchronous intake: invoices queued on a Redis Stream are processed by `treasurer worker`."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from agents.worker import run_worker
from api.demo import sample_invoices
from finance.models import InvoiceStatus
from finance.streams import InvoiceIntake

SAMPLES = dict(sample_invoices())


async def test_worker_processes_queued_invoices_and_acks(treasurer) -> None:
    settings = treasurer.context.settings
    redis = Redis.from_url(settings.redis_url)
    intake = InvoiceIntake(redis, settings.intake_stream, settings.worker_group)
    await intake.ensure_group()
    paid = await treasurer.submit(SAMPLES["02-northwind.txt"])
    blocked = await treasurer.submit(SAMPLES["04-unknown-vendor.txt"])
    await intake.enqueue(paid)
    await intake.enqueue(blocked)

    processed = await asyncio.wait_for(run_worker(settings, consumer="w1", max_invoices=2), timeout=60)

    assert processed == 2
    assert (await treasurer.result(paid)).status == InvoiceStatus.PAID
    assert (await treasurer.result(blocked)).status == InvoiceStatus.BLOCKED
    pending = await redis.xpending(settings.intake_stream, settings.worker_group)
    assert pending["pending"] == 0
    await redis.aclose()


async def test_worker_rebuilds_the_queue_from_postgres(treasurer) -> None:
    """Redis lost the entry (flushed, restarted): the invoice is still processed, from PostgreSQL."""
    settings = treasurer.context.settings
    invoice_id = await treasurer.submit(SAMPLES["01-acme-hosting.txt"])  # stored, never enqueued

    processed = await asyncio.wait_for(run_worker(settings, consumer="w2", max_invoices=1), timeout=60)

    assert processed == 1
    assert (await treasurer.result(invoice_id)).status == InvoiceStatus.PAID
