"""Nonce allocation for the hot wallet, safe with many workers.

The allocation is one atomic `UPDATE ... RETURNING` on the wallet's row: PostgreSQL holds that row
lock until the caller commits, and the caller commits only after the signed attempt is stored, so
two workers can never sign with the same nonce, and a crash before the commit gives the nonce back.
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import WalletNonce


async def allocate_nonce(session: AsyncSession, *, chain_id: int, address: str, chain_pending: int) -> int:
    """The next nonce to sign with. `chain_pending` is the node's pending count: when something else
    sent from this wallet (a bootstrap, an operator), the allocator moves past it instead of colliding.
    """
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(WalletNonce)
        .values(chain_id=chain_id, address=address, next_nonce=chain_pending)
        .on_conflict_do_nothing(index_elements=["chain_id", "address"])
    )
    greatest = func.greatest if dialect == "postgresql" else func.max
    allocated = await session.scalar(
        update(WalletNonce)
        .where(WalletNonce.chain_id == chain_id, WalletNonce.address == address)
        .values(next_nonce=greatest(WalletNonce.next_nonce, chain_pending) + 1)
        .returning(WalletNonce.next_nonce)
    )
    return allocated - 1
