"""Nonce gaps: the chain mines a wallet's transactions strictly in nonce order, so a nonce that never
reaches the node blocks every later payment of the wallet, however high its fees.

Two causes, two remedies. A signed attempt whose worker died before sending it is simply sent: its
bytes are stored, and sending them again is harmless (same hash, same nonce). An audit anchor of the
decision log draws its nonce from the same allocator and is stored the same way, so a stored, unsent
anchor holds its nonce too and is sent like an attempt, never overwritten by a filler. A nonce that no live
attempt holds (its attempt was refused at broadcast) is filled with a zero-value transfer of native
currency to the treasury itself: it moves no money, costs 21,000 gas, and lets the queue through. The
filler is recorded in the decision log before it is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.chain.client import ChainClient
from finance.decisions import DecisionLog
from finance.errors import PaymentRejected
from finance.models import AnchorStatus, AttemptStatus, AuditAnchor, PaymentAttempt, WalletNonce

log = logging.getLogger("treasurer.nonces")
_FILLER_GAS = 21_000
_UNSENT = (AttemptStatus.SIGNED, AttemptStatus.BROADCAST)
_UNSENT_ANCHORS = (AnchorStatus.SIGNED, AnchorStatus.BROADCAST)


@dataclass(frozen=True)
class GapFill:
    nonce: int
    tx_hash: str


@dataclass(frozen=True)
class Backlog:
    """Stored attempts the node may not have, and nonces nobody holds, from the node's pending count up."""

    unsent: list[PaymentAttempt | AuditAnchor]
    gaps: list[int]


async def nonce_backlog(sessions: async_sessionmaker[AsyncSession], chain: ChainClient) -> Backlog:
    # The database is read before the chain: an attempt mined in between is then counted by the node
    # (its nonce is below the pending count) instead of looking like a gap.
    async with sessions() as session:
        allocated = await session.scalar(
            select(WalletNonce.next_nonce).where(
                WalletNonce.chain_id == chain.chain_id, WalletNonce.address == chain.treasury_address
            )
        )
        if allocated is None:
            return Backlog([], [])
        attempts: list[PaymentAttempt | AuditAnchor] = list(
            await session.scalars(
                select(PaymentAttempt).where(
                    PaymentAttempt.from_address == chain.treasury_address, PaymentAttempt.status.in_(_UNSENT)
                )
            )
        )
        attempts += await session.scalars(
            select(AuditAnchor).where(
                AuditAnchor.chain_id == chain.chain_id,
                AuditAnchor.from_address == chain.treasury_address,
                AuditAnchor.status.in_(_UNSENT_ANCHORS),
            )
        )
    accepted = await chain.pending_nonce()
    unsent = [a for a in attempts if a.nonce >= accepted]
    held = {a.nonce for a in unsent}
    return Backlog(unsent, [nonce for nonce in range(accepted, allocated) if nonce not in held])


async def find_nonce_gaps(sessions: async_sessionmaker[AsyncSession], chain: ChainClient) -> list[int]:
    return (await nonce_backlog(sessions, chain)).gaps


async def unblock_nonces(sessions: async_sessionmaker[AsyncSession], chain: ChainClient) -> list[GapFill]:
    """Send what is stored but missing from the node, then fill the true gaps."""
    backlog = await nonce_backlog(sessions, chain)
    for attempt in backlog.unsent:
        try:
            await chain.broadcast(attempt.raw_tx, attempt.tx_hash)
        except PaymentRejected as exc:
            # Its own payment's next step decides what a refusal means; here it only must not stop the rest.
            log.warning("resending attempt %s (nonce %d) was refused: %s", attempt.tx_hash, attempt.nonce, exc)
    fills = []
    for nonce in backlog.gaps:
        fill = await _fill(sessions, chain, nonce)
        if fill is not None:
            fills.append(fill)
    return fills


async def _fill(sessions: async_sessionmaker[AsyncSession], chain: ChainClient, nonce: int) -> GapFill | None:
    max_fee, priority = await chain.fee_quote()
    signed = chain.account.sign_transaction(
        {
            "chainId": chain.chain_id,
            "to": chain.treasury_address,
            "value": 0,
            "nonce": nonce,
            "gas": _FILLER_GAS,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
            "type": 2,
        }
    )
    tx_hash = "0x" + signed.hash.hex()
    async with sessions.begin() as session:
        await _record(session, nonce, tx_hash, "gap_filled",
                      f"nonce {nonce} was allocated but never reached the chain; filling it with a zero-value "
                      "self-transfer")  # fmt: skip
    try:
        await chain.broadcast("0x" + signed.raw_transaction.hex(), tx_hash)
    except PaymentRejected as exc:
        # Most often "nonce too low": something took the nonce after all. The log must say the fill did
        # not happen, since the decision above already says it was attempted.
        async with sessions.begin() as session:
            await _record(session, nonce, tx_hash, "gap_fill_refused", f"the node refused the filler: {exc.message}")
        return None
    return GapFill(nonce, tx_hash)


async def _record(session: AsyncSession, nonce: int, tx_hash: str, outcome: str, reason: str) -> None:
    await DecisionLog(session).append(
        invoice_id=None, step="nonce", outcome=outcome, reason=reason, details={"nonce": nonce, "tx_hash": tx_hash}
    )
