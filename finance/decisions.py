"""The decision log: append-only and hash-chained.

Appends are serialised by a transaction-scoped advisory lock on PostgreSQL (SQLite serialises
writers by itself), so each row reads the true last hash and seq. The caller commits at its unit-of-work
boundary, and must do so before acting on the decision: a decision that was acted on but not
persisted is what this log exists to rule out.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import Decision, as_utc, utcnow

GENESIS_HASH = "0" * 64
# An arbitrary, fixed advisory-lock key reserved for the decision chain.
_CHAIN_LOCK_KEY = 0x7265_6173_7572_6572


def _canonical_time(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decision_hash(
    *,
    prev_hash: str,
    invoice_id: uuid.UUID | None,
    step: str,
    outcome: str,
    reason: str,
    details: dict[str, Any],
    actor: str,
    created_at: datetime,
) -> str:
    payload = {
        "prev_hash": prev_hash,
        "invoice_id": str(invoice_id) if invoice_id else None,
        "step": step,
        "outcome": outcome,
        "reason": reason,
        "details": details,
        "actor": actor,
        "created_at": _canonical_time(created_at),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON now, so the hash covers exactly what the database will hand back
    # (Decimals and UUIDs become strings; no floats sneak in with a different repr later).
    return json.loads(json.dumps(details, default=str))


@dataclass(frozen=True)
class LogHead:
    seq: int
    hash: str


async def log_head(session: AsyncSession) -> LogHead | None:
    """The newest committed row's (seq, hash): what an anchor vouches for, what the next append chains to."""
    row = (await session.execute(select(Decision.seq, Decision.hash).order_by(Decision.seq.desc()).limit(1))).first()
    return None if row is None else LogHead(seq=row.seq, hash=row.hash)


class DecisionLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self,
        *,
        invoice_id: uuid.UUID | None,
        step: str,
        outcome: str,
        reason: str,
        details: dict[str, Any] | None = None,
        actor: str = "treasurer",
    ) -> Decision:
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
        head = await log_head(self.session)
        prev_seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
        clean = _json_safe(details or {})
        created_at = utcnow()
        row = Decision(
            seq=prev_seq + 1,
            invoice_id=invoice_id,
            step=step,
            outcome=outcome,
            reason=reason,
            details=clean,
            actor=actor,
            created_at=created_at,
            prev_hash=prev_hash,
            hash=decision_hash(
                prev_hash=prev_hash,
                invoice_id=invoice_id,
                step=step,
                outcome=outcome,
                reason=reason,
                details=clean,
                actor=actor,
                created_at=created_at,
            ),
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def for_invoice(self, invoice_id: uuid.UUID) -> list[Decision]:
        rows = await self.session.scalars(
            select(Decision).where(Decision.invoice_id == invoice_id).order_by(Decision.id)
        )
        return list(rows)

    async def latest(self, invoice_id: uuid.UUID, step: str) -> Decision | None:
        return await self.session.scalar(
            select(Decision)
            .where(Decision.invoice_id == invoice_id, Decision.step == step)
            .order_by(Decision.id.desc())
            .limit(1)
        )

    async def verify(self) -> ChainVerification:
        """Walk the log by seq, recomputing every hash; report the first row that does not fit. A row's seq
        must be its position in the chain (the hash does not cover seq: see migration 0009)."""
        expected_prev, expected_seq = GENESIS_HASH, 1
        checked = 0
        result = await self.session.stream_scalars(select(Decision).order_by(Decision.seq))
        async for row in result:
            if row.seq != expected_seq or row.prev_hash != expected_prev or recompute_hash(row) != row.hash:
                return ChainVerification(ok=False, checked=checked, first_bad_id=row.id, first_bad_seq=expected_seq)
            expected_prev, expected_seq = row.hash, expected_seq + 1
            checked += 1
        return ChainVerification(ok=True, checked=checked, first_bad_id=None, first_bad_seq=None)


def recompute_hash(row: Decision) -> str:
    return decision_hash(
        prev_hash=row.prev_hash,
        invoice_id=row.invoice_id,
        step=row.step,
        outcome=row.outcome,
        reason=row.reason,
        details=row.details,
        actor=row.actor,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_id: int | None
    first_bad_seq: int | None = None
