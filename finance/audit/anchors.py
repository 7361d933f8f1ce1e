"""Anchoring the decision log's head on chain: a zero-value transaction from the treasury wallet to itself whose
data is the head's (seq, hash).

The wallet also pays invoices, so an anchor is a transaction like any payment attempt: its nonce comes from
the same allocator (under the same row lock), and the signed bytes and hash are committed, then written to
the anchor file, before anything is broadcast. The gap filler treats a stored, unsent anchor as holding its
nonce and re-sends it; a stuck one is replaced with bumped fees, as payments are, because every later payment
of the wallet waits behind it.

Anchors are not written to the decision log: a row about each anchor would move the head, so an idle log
would be anchored again at every interval, for ever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.audit.anchor_file import append_anchor_line
from finance.audit.payload import encode_anchor
from finance.chain.client import ChainClient
from finance.decisions import log_head
from finance.errors import PaymentRejected, TreasurerError
from finance.models import LIVE_ANCHOR_STATUSES, AnchorStatus, AuditAnchor, as_utc, utcnow
from finance.payments.fees import bump_fee
from finance.payments.nonces import allocate_nonce
from finance.settings import Settings

log = logging.getLogger("treasurer.audit")
# An arbitrary, fixed advisory-lock key reserved for anchoring (the decision chain's is another).
_ANCHOR_LOCK_KEY = 0x616E_6368_6F72_6564
_UNMINED = (AnchorStatus.SIGNED, AnchorStatus.BROADCAST)


class NothingToAnchor(TreasurerError):
    status_code = 409
    code = "nothing_to_anchor"


class AnchorRefused(TreasurerError):
    status_code = 502
    code = "anchor_refused"


@dataclass(frozen=True)
class AnchorRecord:
    seq: int
    head_hash: str
    tx_hash: str
    nonce: int
    status: AnchorStatus
    block_number: int | None
    gas_used: int | None


def _record(anchor: AuditAnchor) -> AnchorRecord:
    return AnchorRecord(
        seq=anchor.seq,
        head_hash=anchor.head_hash,
        tx_hash=anchor.tx_hash,
        nonce=anchor.nonce,
        status=AnchorStatus(anchor.status),
        block_number=anchor.block_number,
        gas_used=anchor.gas_used,
    )


def _age_seconds(moment: datetime) -> float:
    return (utcnow() - as_utc(moment)).total_seconds()


class Anchorer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], chain: ChainClient, settings: Settings) -> None:
        self.sessions = sessions
        self.chain = chain
        self.settings = settings

    async def tick(self) -> AnchorRecord | None:
        """A worker's timer: settle the anchors in flight, then anchor the head if it is due."""
        await self.settle()
        return await self.anchor_if_due()

    async def anchor_if_due(self) -> AnchorRecord | None:
        """The timer's step: anchor the head when the log has moved and the interval has passed since the last
        anchor. None when there is nothing to do, or another worker is anchoring right now."""
        return await self._anchor(wait_for_lock=False, respect_interval=True)

    async def anchor_now(self) -> AnchorRecord:
        """Anchor the head at once (`treasurer audit anchor`); an already anchored head returns its anchor."""
        sent = await self._anchor(wait_for_lock=True, respect_interval=False)
        if sent is not None:
            return sent
        async with self.sessions() as session:
            head = await log_head(session)
            if head is None:
                raise NothingToAnchor("the decision log is empty: there is no head to anchor yet")
            existing = await _live_anchor(session, head.seq)
            if existing is None:
                raise NothingToAnchor(f"seq {head.seq} is older than the newest anchor; nothing new to anchor")
            return _record(existing)

    async def _anchor(self, *, wait_for_lock: bool, respect_interval: bool) -> AnchorRecord | None:
        async with self.sessions.begin() as session:
            if not await _claim(session, wait=wait_for_lock):
                return None
            head = await log_head(session)
            newest = await _newest_live_anchor(session)
            if head is None or (newest is not None and newest.seq >= head.seq):
                return None
            if respect_interval and newest is not None and _age_seconds(newest.created_at) < self._interval:
                return None
            data = encode_anchor(head.seq, head.hash)
            gas = await self.chain.estimate_gas(self.chain.treasury_address, data)
            max_fee, priority = await self.chain.fee_quote()
            nonce = await allocate_nonce(
                session,
                chain_id=self.chain.chain_id,
                address=self.chain.treasury_address,
                chain_pending=await self.chain.pending_nonce(),
            )
            anchor = self._signed(head.seq, head.hash, nonce, gas, max_fee, priority)
            session.add(anchor)
        return await self._file_and_send(anchor)

    @property
    def _interval(self) -> float:
        return self.settings.anchor_interval_seconds

    def _signed(self, seq: int, head_hash: str, nonce: int, gas: int, max_fee: int, priority: int) -> AuditAnchor:
        signed = self.chain.account.sign_transaction(
            {
                "chainId": self.chain.chain_id,
                "to": self.chain.treasury_address,
                "value": 0,
                "data": encode_anchor(seq, head_hash),
                "nonce": nonce,
                "gas": gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": priority,
                "type": 2,
            }
        )
        return AuditAnchor(
            seq=seq,
            head_hash=head_hash,
            chain_id=self.chain.chain_id,
            from_address=self.chain.treasury_address,
            nonce=nonce,
            tx_hash="0x" + signed.hash.hex(),
            raw_tx="0x" + signed.raw_transaction.hex(),
            gas_limit=gas,
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=priority,
            status=AnchorStatus.SIGNED,
            created_at=utcnow(),
        )

    async def _file_and_send(self, anchor: AuditAnchor) -> AnchorRecord:
        await append_anchor_line(
            self.settings.anchor_file,
            seq=anchor.seq,
            head_hash=anchor.head_hash,
            chain_id=anchor.chain_id,
            tx_hash=anchor.tx_hash,
            at=anchor.created_at,
        )
        try:
            await self.chain.broadcast(anchor.raw_tx, anchor.tx_hash)
        except PaymentRejected as exc:
            # Its nonce is no longer held: the gap filler closes it, and the next tick anchors again.
            await self._set_status(anchor.tx_hash, AnchorStatus.FAILED, error=exc.message)
            raise AnchorRefused(f"the node refused anchor {anchor.tx_hash}: {exc.message}") from exc
        return await self._set_status(anchor.tx_hash, AnchorStatus.BROADCAST, only_from=AnchorStatus.SIGNED)

    async def _set_status(
        self, tx_hash: str, status: AnchorStatus, *, error: str | None = None, only_from: AnchorStatus | None = None
    ) -> AnchorRecord:
        async with self.sessions.begin() as session:
            anchor = await session.scalar(select(AuditAnchor).where(AuditAnchor.tx_hash == tx_hash))
            if only_from is None or anchor.status == only_from:
                anchor.status = status
                anchor.error = error
            return _record(anchor)

    async def settle(self) -> list[AnchorRecord]:
        """Record the receipts of anchors in flight; replace those stuck past `stuck_after_seconds`.
        Returns the anchors it found mined."""
        async with self.sessions() as session:
            pending = list(
                await session.scalars(
                    select(AuditAnchor)
                    .where(AuditAnchor.status.in_(_UNMINED), AuditAnchor.from_address == self.chain.treasury_address)
                    .order_by(AuditAnchor.nonce)
                )
            )
        mined = []
        for anchor in pending:
            settled = await self._settle_one(anchor)
            if settled is not None:
                mined.append(settled)
        return mined

    async def _settle_one(self, anchor: AuditAnchor) -> AnchorRecord | None:
        async with self.sessions() as session:
            candidates = list(
                await session.scalars(
                    select(AuditAnchor.tx_hash).where(AuditAnchor.seq == anchor.seq, AuditAnchor.nonce == anchor.nonce)
                )
            )
        for tx_hash in candidates:  # the live anchor and every one it replaced: any of them may be the mined one
            receipt = await self.chain.confirmed_receipt(tx_hash)
            if receipt is not None:
                return await self._conclude(anchor.seq, tx_hash, receipt.status, receipt.block_number, receipt.gas_used)
        if _age_seconds(anchor.created_at) >= self.settings.stuck_after_seconds:
            await self._replace(anchor)
        return None

    async def _conclude(self, seq: int, tx_hash: str, status: int, block: int, gas_used: int) -> AnchorRecord:
        async with self.sessions.begin() as session:
            live = await _live_anchor(session, seq)
            if live is not None and live.tx_hash != tx_hash:
                live.status = AnchorStatus.REPLACED  # its nonce went to the one that was mined
                await session.flush()
            winner = await session.scalar(select(AuditAnchor).where(AuditAnchor.tx_hash == tx_hash))
            # A value-0 transfer to ourselves cannot revert; status 0 would mean it ran out of gas.
            winner.status = AnchorStatus.MINED if status == 1 else AnchorStatus.FAILED
            winner.block_number, winner.gas_used = block, gas_used
            return _record(winner)

    async def _replace(self, stuck: AuditAnchor) -> None:
        bump = self.settings.fee_bump_percent
        async with self.sessions.begin() as session:
            if not await _claim(session, wait=False):
                return
            live = await _live_anchor(session, stuck.seq)
            if live is None or live.tx_hash != stuck.tx_hash or live.status not in _UNMINED:
                return  # settled or replaced by someone else meanwhile
            quote_max, quote_priority = await self.chain.fee_quote()
            priority = max(quote_priority, bump_fee(live.max_priority_fee_per_gas, bump))
            max_fee = max(quote_max, bump_fee(live.max_fee_per_gas, bump), priority)
            if max_fee > self.settings.max_fee_per_gas_cap_wei:
                log.warning("anchor %s is stuck and the fee cap is reached; waiting", live.tx_hash)
                return
            live.status = AnchorStatus.REPLACED
            await session.flush()
            replacement = self._signed(live.seq, live.head_hash, live.nonce, live.gas_limit, max_fee, priority)
            session.add(replacement)
        log.info("anchor of seq %d stuck; replaced %s by %s", stuck.seq, stuck.tx_hash, replacement.tx_hash)
        try:
            await self._file_and_send(replacement)
        except AnchorRefused as exc:
            # The earlier anchor may still be mined; the next settle finds it under the same nonce.
            log.warning("%s", exc.message)


async def _claim(session: AsyncSession, *, wait: bool) -> bool:
    """One anchorer at a time across workers; SQLite serialises writers by itself."""
    if session.bind.dialect.name != "postgresql":
        return True
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ANCHOR_LOCK_KEY})
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _ANCHOR_LOCK_KEY}))


async def _newest_live_anchor(session: AsyncSession) -> AuditAnchor | None:
    return await session.scalar(
        select(AuditAnchor)
        .where(AuditAnchor.status.in_(LIVE_ANCHOR_STATUSES))
        .order_by(AuditAnchor.seq.desc())
        .limit(1)
    )


async def _live_anchor(session: AsyncSession, seq: int) -> AuditAnchor | None:
    return await session.scalar(
        select(AuditAnchor).where(AuditAnchor.seq == seq, AuditAnchor.status.in_(LIVE_ANCHOR_STATUSES))
    )


async def wait_until_mined(anchorer: Anchorer, anchor: AnchorRecord) -> AnchorRecord:
    """Block until the anchor has its receipt with the configured confirmations, then record it."""
    if anchor.status == AnchorStatus.MINED:
        return anchor
    await anchorer.chain.wait_for_confirmed_receipt(anchor.tx_hash)
    await anchorer.settle()
    async with anchorer.sessions() as session:
        live = await _live_anchor(session, anchor.seq)
    if live is not None and live.status == AnchorStatus.MINED:
        return _record(live)
    raise AnchorRefused(
        f"anchor {anchor.tx_hash} is not mined after {anchorer.settings.receipt_timeout_seconds:g} s; "
        "a worker keeps watching it (or run `treasurer audit anchor` again)"
    )
