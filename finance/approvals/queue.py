"""The approvals' Redis side: new requests to announce, mails to send and decided requests to resume
(streams of ids), and the timers of pending requests (a sorted set scored by when each is next due:
reminder, then deadline).

Nothing here is the record. A lost stream entry or timer is rebuilt from PostgreSQL by `rebuild`
(on worker start when Redis has lost the groups, and by `treasurer approvals requeue`); a duplicate
entry is harmless because every consumer is idempotent against the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.approvals.lifecycle import owed_resumes, pending_timers
from finance.models import ApprovalNotification, NotificationStatus
from finance.settings import Settings
from finance.streams import IdStream


@dataclass(frozen=True)
class RebuildReport:
    notifications: int
    resumes: int
    timers: int


class ApprovalQueue:
    def __init__(self, redis: Redis, settings: Settings, *, claim_idle_ms: int = 60_000) -> None:
        self.redis = redis
        group = settings.worker_group
        self.requests = IdStream(
            redis, settings.approvals_requests_stream, group, field="approval_request_id", claim_idle_ms=claim_idle_ms
        )
        self.notify = IdStream(
            redis, settings.approvals_notify_stream, group, field="notification_id", claim_idle_ms=claim_idle_ms
        )
        self.ready = IdStream(
            redis, settings.approvals_ready_stream, group, field="approval_request_id", claim_idle_ms=claim_idle_ms
        )
        self.timers_key = settings.approvals_deadline_key

    @property
    def streams(self) -> list[IdStream]:
        return [self.requests, self.notify, self.ready]

    async def ensure_groups(self) -> bool:
        """True when any group was missing: Redis lost the queue and it must be rebuilt."""
        missing = [await stream.ensure_group() for stream in self.streams]
        return any(missing)

    async def opened(self, request_id: uuid.UUID) -> None:
        await self.requests.enqueue(request_id)

    async def send_mails(self, notification_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None:
        for notification_id in notification_ids:
            await self.notify.enqueue(notification_id)

    async def resume(self, request_id: uuid.UUID) -> None:
        await self.ready.enqueue(request_id)

    async def schedule(self, request_id: uuid.UUID, due: datetime | None) -> None:
        if due is None:
            await self.redis.zrem(self.timers_key, str(request_id))
        else:
            await self.redis.zadd(self.timers_key, {str(request_id): due.timestamp()})

    async def due(self, now: datetime, limit: int = 100) -> list[uuid.UUID]:
        raw = await self.redis.zrangebyscore(self.timers_key, "-inf", now.timestamp(), start=0, num=limit)
        return [uuid.UUID(r.decode() if isinstance(r, bytes) else r) for r in raw]

    async def depth(self) -> dict[str, int]:
        return {
            "notify": await self.redis.xlen(self.notify.stream),
            "ready": await self.redis.xlen(self.ready.stream),
            "timers": await self.redis.zcard(self.timers_key),
        }

    async def rebuild(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> RebuildReport:
        await self.ensure_groups()
        async with sessions() as session:
            unsent = list(
                await session.scalars(
                    select(ApprovalNotification.id).where(ApprovalNotification.status == NotificationStatus.PENDING)
                )
            )
            resumes = await owed_resumes(session, now)
            timers = await pending_timers(session)
        await self.send_mails(unsent)
        for request_id in resumes:
            await self.resume(request_id)
        for request_id, due in timers:
            await self.schedule(request_id, due)
        return RebuildReport(len(unsent), len(resumes), len(timers))
