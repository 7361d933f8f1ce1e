"""Where the graph hands what it owes after a commit: mails to send, timers to set, threads to wake.

With Redis and workers (production, the test suite) everything goes through the approvals queue, and any
worker picks it up. In the single-process embedded default there are no workers: mails are sent and
threads resumed right away, and the in-process scheduler polls PostgreSQL for timers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from finance.approvals.lifecycle import next_due
from finance.approvals.queue import ApprovalQueue
from finance.models import ApprovalNotification, ApprovalRequest, NotificationStatus

log = logging.getLogger("treasurer.approvals")


class ApprovalDispatch(Protocol):
    async def opened(self, request_id: uuid.UUID) -> None: ...
    async def send_mails(self, notification_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None: ...
    async def schedule(self, request_id: uuid.UUID, due: datetime | None) -> None: ...
    async def resume(self, request_id: uuid.UUID) -> None: ...


class QueuedDispatch:
    def __init__(self, queue: ApprovalQueue) -> None:
        self.queue = queue

    async def opened(self, request_id: uuid.UUID) -> None:
        # One entry on the graph's path; a worker fans it out into the mails and the timer (`announce`).
        await self.queue.opened(request_id)

    async def send_mails(self, notification_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None:
        await self.queue.send_mails(notification_ids)

    async def schedule(self, request_id: uuid.UUID, due: datetime | None) -> None:
        await self.queue.schedule(request_id, due)

    async def resume(self, request_id: uuid.UUID) -> None:
        await self.queue.resume(request_id)


class InlineDispatch:
    """Does the work now, in this process. Failures are logged, never raised into the caller: what is owed
    stays recorded in PostgreSQL and the in-process scheduler retries it."""

    def __init__(self) -> None:
        self._send: Callable[[uuid.UUID], Awaitable[object]] | None = None
        self._resume: Callable[[uuid.UUID], Awaitable[object]] | None = None
        self._announce: Callable[[uuid.UUID], Awaitable[object]] | None = None

    def bind(
        self,
        send: Callable[[uuid.UUID], Awaitable[object]],
        resume: Callable[[uuid.UUID], Awaitable[object]],
        announce: Callable[[uuid.UUID], Awaitable[object]],
    ) -> None:
        self._send, self._resume, self._announce = send, resume, announce

    async def opened(self, request_id: uuid.UUID) -> None:
        try:
            await self._announce(request_id)
        except Exception:  # the mails stay owed in PostgreSQL
            log.exception("approval request %s could not be announced now; its mails stay owed", request_id)

    async def send_mails(self, notification_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None:
        for notification_id in notification_ids:
            try:
                await self._send(notification_id)
            except Exception:  # the row stays pending and is retried
                log.exception("approval mail %s could not be sent now; it stays owed", notification_id)

    async def schedule(self, request_id: uuid.UUID, due: datetime | None) -> None:
        return None

    async def resume(self, request_id: uuid.UUID) -> None:
        try:
            await self._resume(request_id)
        except Exception:  # the resume stays owed in PostgreSQL and is retried
            log.exception("approval %s could not be resumed now; it stays owed", request_id)


async def announce(sessions, dispatch: ApprovalDispatch, request_id: uuid.UUID) -> int:
    """Fan a new request out: its owed mails to the sender, its timer to the schedule. Idempotent: a mail
    already sent is skipped by the sender, and a timer is simply set again. Returns the mails handed on."""
    async with sessions() as session:
        request = await session.get(ApprovalRequest, request_id)
        if request is None:
            return 0
        owed = list(
            await session.scalars(
                select(ApprovalNotification.id).where(
                    ApprovalNotification.request_id == request_id,
                    ApprovalNotification.status == NotificationStatus.PENDING,
                )
            )
        )
    await dispatch.send_mails(owed)
    await dispatch.schedule(request_id, next_due(request))
    return len(owed)
