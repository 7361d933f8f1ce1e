"""Nonce gaps: a nonce allocated to an attempt that never reached the chain (refused at broadcast, say)
blocks every later transaction of the wallet, since the chain mines nonces strictly in order.

A gap is a nonce between what the chain has accepted (its pending count) and what the allocator has
handed out that no live attempt holds. It is filled with a zero-value transfer of native currency to
the treasury itself: it moves no money, costs 21,000 gas, and lets the queue behind it through. The
filler is recorded in the decision log before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.chain.client import ChainClient
from finance.decisions import DecisionLog
from finance.models import AttemptStatus, PaymentAttempt, WalletNonce

_FILLER_GAS = 21_000


@dataclass(frozen=True)
class GapFill:
    nonce: int
    tx_hash: str


async def find_nonce_gaps(sessions: async_sessionmaker[AsyncSession], chain: ChainClient) -> list[int]:
    accepted = await chain.pending_nonce()
    async with sessions() as session:
        allocated = await session.scalar(
            select(WalletNonce.next_nonce).where(
                WalletNonce.chain_id == chain.chain_id, WalletNonce.address == chain.treasury_address
            )
        )
        if allocated is None or allocated <= accepted:
            return []
        held = set(
            await session.scalars(
                select(PaymentAttempt.nonce).where(
                    PaymentAttempt.from_address == chain.treasury_address,
                    PaymentAttempt.nonce >= accepted,
                    PaymentAttempt.status.in_((AttemptStatus.SIGNED, AttemptStatus.BROADCAST)),
                )
            )
        )
    return [nonce for nonce in range(accepted, allocated) if nonce not in held]


async def fill_nonce_gaps(sessions: async_sessionmaker[AsyncSession], chain: ChainClient) -> list[GapFill]:
    fills = []
    for nonce in await find_nonce_gaps(sessions, chain):
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
            await _record(session, nonce, tx_hash)
        await chain.broadcast("0x" + signed.raw_transaction.hex(), tx_hash)
        fills.append(GapFill(nonce, tx_hash))
    return fills


async def _record(session: AsyncSession, nonce: int, tx_hash: str) -> None:
    await DecisionLog(session).append(
        invoice_id=None,
        step="nonce",
        outcome="gap_filled",
        reason=f"nonce {nonce} was allocated but never reached the chain; filled with a zero-value self-transfer",
        details={"nonce": nonce, "tx_hash": tx_hash},
    )
