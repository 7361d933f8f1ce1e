"""Work queues as Redis Streams of ids, read by consumer groups: invoices to process, approval mails
to send, approved threads to resume.

Entries carry ids only; what they point to is already committed in PostgreSQL, so a stream can
be lost and rebuilt from there. A consumer acknowledges an entry only after the invoice's outcome
is committed; entries left pending by a dead consumer are claimed by another after `claim_idle_ms`,
and an entry delivered more than `max_deliveries` times is moved to a dead-letter stream.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError


class QueueLost(Exception):
    """The stream or its consumer group is gone; rebuild it from PostgreSQL."""


@dataclass(frozen=True)
class StreamEntry:
    stream: str
    entry_id: str
    item_id: uuid.UUID

    @property
    def invoice_id(self) -> uuid.UUID:
        return self.item_id


class IdStream:
    def __init__(
        self,
        redis: Redis,
        stream: str,
        group: str,
        *,
        field: str = "id",
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
        max_length: int = 100_000,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.field = field
        self.dead_letters = f"{stream}:dead"
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.max_length = max_length

    async def ensure_group(self) -> bool:
        """Create the stream and group if missing. True when they were missing: Redis has lost (or
        never had) the queue, and the caller must rebuild it from PostgreSQL."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def enqueue(self, item_id: uuid.UUID) -> str:
        # Approximate trimming keeps the stream bounded without blocking writers.
        entry_id = await self.redis.xadd(
            self.stream, {self.field: str(item_id)}, maxlen=self.max_length, approximate=True
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def read(self, consumer: str, *, count: int = 10, block_ms: int = 1000) -> list[StreamEntry]:
        """Entries for this consumer: first those abandoned by dead consumers, then new ones.
        Raises `QueueLost` when the group has vanished (Redis flushed or restarted empty)."""
        try:
            return await self._read(consumer, count, block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                raise QueueLost(self.stream) from exc
            raise

    async def _read(self, consumer: str, count: int, block_ms: int) -> list[StreamEntry]:
        reclaimed = await self.reclaim(consumer, count)
        if reclaimed:
            return reclaimed
        response = await self.redis.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count, block=block_ms)
        return [e for _, entries in response or [] for e in self._parse(entries)]

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.stream, self.group, entry_id)

    async def reclaim(self, consumer: str, count: int) -> list[StreamEntry]:
        """Entries left pending by dead consumers; poison entries go to the dead-letter stream."""
        _, claimed, *_ = await self.redis.xautoclaim(
            self.stream, self.group, consumer, min_idle_time=self.claim_idle_ms, start_id="0-0", count=count
        )
        entries = []
        for entry in self._parse(claimed):
            pending = await self.redis.xpending_range(
                self.stream, self.group, min=entry.entry_id, max=entry.entry_id, count=1
            )
            if pending and pending[0]["times_delivered"] > self.max_deliveries:
                # A poison entry must not starve the queue; park it where an operator will look.
                await self.redis.xadd(
                    self.dead_letters,
                    {self.field: str(entry.item_id), "entry_id": entry.entry_id},
                    maxlen=self.max_length,
                    approximate=True,
                )
                await self.ack(entry.entry_id)
                continue
            entries.append(entry)
        return entries

    def _parse(self, entries) -> list[StreamEntry]:
        parsed = []
        for entry_id, fields in entries or []:
            if not fields:
                continue  # deleted by trimming while pending
            raw = fields.get(self.field.encode()) or fields.get(self.field)
            entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            parsed.append(StreamEntry(self.stream, entry, uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw)))
        return parsed

    def parse(self, entries) -> list[StreamEntry]:
        return self._parse(entries)


class InvoiceIntake(IdStream):
    """Invoices submitted for asynchronous processing."""

    def __init__(self, redis: Redis, stream: str, group: str, **options) -> None:
        super().__init__(redis, stream, group, field="invoice_id", **options)


async def read_streams(
    streams: list[IdStream], consumer: str, *, count: int = 8, block_ms: int = 500
) -> list[StreamEntry]:
    """One blocking XREADGROUP over several streams of the same group: a worker waits on all its queues at
    once, so an approval is picked up as soon as it is queued, not after the intake's poll times out.
    Raises `QueueLost` when any group has vanished."""
    redis, group = streams[0].redis, streams[0].group
    try:
        reclaimed = [e for s in streams for e in await s.reclaim(consumer, count)]
        if reclaimed:
            return reclaimed
        response = await redis.xreadgroup(
            group, consumer, {s.stream: ">" for s in streams}, count=count, block=block_ms
        )
    except ResponseError as exc:
        # NOGROUP: the group is gone; UNBLOCKED: the stream was deleted (Redis flushed) while we waited on it.
        if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
            raise QueueLost(", ".join(s.stream for s in streams)) from exc
        raise
    by_name = {s.stream: s for s in streams}
    entries = []
    for name, items in response or []:
        key = name.decode() if isinstance(name, bytes) else name
        entries += by_name[key].parse(items)
    return entries
