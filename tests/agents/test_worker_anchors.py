"""The worker keeps the trail: on its timer it anchors the decision log's head, and settles the anchor."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from agents.worker import run_worker
from finance.decisions import log_head
from finance.models import AnchorStatus, AuditAnchor


async def test_a_running_worker_anchors_the_head_and_records_its_receipt(treasurer) -> None:
    # A short reconcile interval makes the worker look at anchors often; the anchor interval keeps them rare.
    settings = treasurer.context.settings.model_copy(update={"reconcile_interval_seconds": 0.2})
    async with treasurer.sessions() as session:
        head = await log_head(session)  # registering the sample vendors wrote decisions
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, consumer="anchorer", stop=stop))
    try:
        anchor = None
        for _ in range(150):
            async with treasurer.sessions() as session:
                anchor = await session.scalar(select(AuditAnchor).where(AuditAnchor.status == AnchorStatus.MINED))
            if anchor is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
    assert anchor is not None, "the worker anchored nothing"
    assert (anchor.seq, anchor.head_hash) == (head.seq, head.hash) and anchor.gas_used > 21_000
    assert settings.anchor_file.read_text().count("\n") == 1
    async with treasurer.sessions() as session:
        assert len(list(await session.scalars(select(AuditAnchor)))) == 1  # the log did not move: one anchor
