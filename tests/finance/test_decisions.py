import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from finance.db import create_engine, session_factory
from finance.decisions import GENESIS_HASH, DecisionLog


async def _append_three(sessions) -> list:
    invoice_id = uuid.uuid4()
    rows = []
    for step in ("extract", "evaluate", "record"):
        async with sessions.begin() as session:
            rows.append(
                await DecisionLog(session).append(
                    invoice_id=invoice_id, step=step, outcome="ok", reason=f"{step} done", details={"n": step}
                )
            )
    return rows


async def test_rows_chain_by_hash_and_verify(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    rows = await _append_three(sessions)
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    async with sessions() as session:
        result = await DecisionLog(session).verify()
    assert result.ok and result.checked == 3
    await engine.dispose()


async def test_database_refuses_update_and_delete(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    await _append_three(sessions)
    for statement in ("UPDATE decisions SET reason = 'rewritten'", "DELETE FROM decisions"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))
    await engine.dispose()


async def test_verify_finds_the_first_altered_row(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    rows = await _append_three(sessions)
    # Simulate an attacker with superuser rights who switches the guard off.
    async with sessions.begin() as session:
        await session.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update"))
        await session.execute(
            text("UPDATE decisions SET reason = 'paid twice, nothing to see' WHERE id = :id"), {"id": rows[1].id}
        )
    async with sessions() as session:
        result = await DecisionLog(session).verify()
    assert not result.ok and result.first_bad_id == rows[1].id and result.checked == 1
    await engine.dispose()


async def test_concurrent_appends_never_fork_the_chain(database_url: str) -> None:
    import asyncio

    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def one(i: int) -> None:
        async with sessions.begin() as session:
            await DecisionLog(session).append(invoice_id=None, step="race", outcome="ok", reason=str(i))

    await asyncio.gather(*(one(i) for i in range(20)))
    async with sessions() as session:
        result = await DecisionLog(session).verify()
    assert result.ok and result.checked == 20
    await engine.dispose()
