"""The asynchronous intake queue: a Redis Stream of invoice ids, read by a consumer group.

Entries carry ids only; the invoice itself is already committed in PostgreSQL, so the stream can
be lost and rebuilt (`requeue`). A consumer acknowledges an entry only after the invoice's outcome
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
class IntakeEntry:
    entry_id: str
    invoice_id: uuid.UUID


class InvoiceIntake:
    def __init__(
        self,
        redis: Redis,
        stream: str,
        group: str,
        *,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
        max_length: int = 100_000,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
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

    async def enqueue(self, invoice_id: uuid.UUID) -> str:
        # Approximate trimming keeps the stream bounded without blocking writers.
        entry_id = await self.redis.xadd(
            self.stream, {"invoice_id": str(invoice_id)}, maxlen=self.max_length, approximate=True
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def read(self, consumer: str, *, count: int = 10, block_ms: int = 1000) -> list[IntakeEntry]:
        """Entries for this consumer: first those abandoned by dead consumers, then new ones.
        Raises `QueueLost` when the group has vanished (Redis flushed or restarted empty)."""
        try:
            return await self._read(consumer, count, block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                raise QueueLost(self.stream) from exc
            raise

    async def _read(self, consumer: str, count: int, block_ms: int) -> list[IntakeEntry]:
        reclaimed = await self._reclaim(consumer, count)
        if reclaimed:
            return reclaimed
        response = await self.redis.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count, block=block_ms)
        return [e for _, entries in response or [] for e in self._parse(entries)]

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.stream, self.group, entry_id)

    async def _reclaim(self, consumer: str, count: int) -> list[IntakeEntry]:
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
                    self.dead_letters, {"invoice_id": str(entry.invoice_id), "entry_id": entry.entry_id}
                )
                await self.ack(entry.entry_id)
                continue
            entries.append(entry)
        return entries

    @staticmethod
    def _parse(entries) -> list[IntakeEntry]:  # noqa: ANN001
        parsed = []
        for entry_id, fields in entries or []:
            if not fields:
                continue  # deleted by trimming while pending
            raw = fields.get(b"invoice_id") or fields.get("invoice_id")
            entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            parsed.append(IntakeEntry(entry, uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw)))
        return parsed
