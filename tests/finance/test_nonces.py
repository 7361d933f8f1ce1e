import asyncio

from finance.db import create_engine, session_factory
from finance.payments.nonces import allocate_nonce

WALLET = "0x000000000000000000000000000000000000dEaD"


async def test_concurrent_workers_never_share_a_nonce(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def allocate() -> int:
        async with sessions.begin() as session:
            nonce = await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=7)
            await asyncio.sleep(0.01)  # hold the row lock a little, as signing does
            return nonce

    nonces = await asyncio.gather(*(allocate() for _ in range(25)))
    assert sorted(nonces) == list(range(7, 32))
    await engine.dispose()


async def test_allocator_moves_past_transactions_sent_elsewhere(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        assert await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=0) == 0
    async with sessions.begin() as session:
        # Someone sent three transactions from this wallet outside the treasurer.
        assert await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=4) == 4
    async with sessions.begin() as session:
        assert await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=4) == 5
    await engine.dispose()


async def test_rolled_back_allocation_gives_the_nonce_back(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session:
        async with session.begin():
            assert await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=0) == 0
            await session.rollback()
    async with sessions.begin() as session:
        assert await allocate_nonce(session, chain_id=1, address=WALLET, chain_pending=0) == 0
    await engine.dispose()
