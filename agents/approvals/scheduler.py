"""Reminders, escalation and expiry, driven by each request's next due time.

The Redis timer set says which requests are due; PostgreSQL is asked too, so a lost timer only delays
nothing. Each due request is handled under `FOR UPDATE SKIP LOCKED`, so any number of workers can tick
at once. `now` is a parameter: tests drive the clock rather than sleep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.approvals.dispatch import ApprovalDispatch
from finance.approvals.lifecycle import DueResult, due_requests, owed_resumes, process_due
from finance.approvals.queue import ApprovalQueue
from finance.models import utcnow

log = logging.getLogger("treasurer.approvals.scheduler")


@dataclass
class TickReport:
    handled: list[DueResult] = field(default_factory=list)
    resumes_requeued: int = 0


async def tick(
    sessions,  # async_sessionmaker
    dispatch: ApprovalDispatch,
    queue: ApprovalQueue | None,
    *,
    now: datetime | None = None,
    resume_grace: timedelta = timedelta(seconds=30),
) -> TickReport:
    now = now or utcnow()
    report = TickReport()
    async with sessions() as session:
        due = await due_requests(session, now)
        # A decided request whose thread has not finished and nobody holds: its queue entry was lost, or
        # its worker died. The grace leaves fresh decisions to the entry already queued for them.
        owed = await owed_resumes(session, now, decided_before=now - resume_grace)
    if queue is not None:
        due = list(dict.fromkeys([*await queue.due(now), *due]))
    for request_id in due:
        async with sessions.begin() as session:
            result = await process_due(session, request_id, now)
        if result is None:
            continue  # another worker has it
        report.handled.append(result)
        await dispatch.send_mails(result.mails)
        await dispatch.schedule(request_id, result.next_due)
        if result.ended:
            await dispatch.resume(request_id)
        if result.action:
            log.info("approval request %s %s", request_id, result.action)
    for request_id in owed:
        await dispatch.resume(request_id)
    report.resumes_requeued = len(owed)
    return report
