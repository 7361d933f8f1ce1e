"""Migration 0009 numbers an existing log in chain order and leaves every hash as it was."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from finance.db import create_engine, session_factory
from finance.decisions import GENESIS_HASH, DecisionLog, decision_hash
from finance.migrations.runner import upgrade


def _old_log(sync_url: str, rows: int) -> list[str]:
    """Rows as 0007 wrote them: no seq. Returns their hashes in chain order."""
    engine = create_sync_engine(sync_url)
    prev, hashes, start = GENESIS_HASH, [], datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for n in range(rows):
            moment = start + timedelta(minutes=n)
            row = {"invoice_id": None, "step": "evaluate", "outcome": "allow", "reason": f"r{n}", "actor": "treasurer"}
            digest = decision_hash(prev_hash=prev, details={"n": n}, created_at=moment, **row)
            conn.execute(
                text(
                    "INSERT INTO decisions (invoice_id, step, outcome, reason, details, actor, created_at, prev_hash, "
                    "hash) VALUES (:invoice_id, :step, :outcome, :reason, :details, :actor, :created_at, :prev, :hash)"
                ),
                row | {"details": f'{{"n": {n}}}', "created_at": moment, "prev": prev, "hash": digest},
            )
            prev = digest
            hashes.append(digest)
    engine.dispose()
    return hashes


async def _check(url: str, sync_url: str) -> None:
    await asyncio.to_thread(upgrade, url, "0007")
    hashes = await asyncio.to_thread(_old_log, sync_url, 5)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session:
        numbered = (await session.execute(text("SELECT seq, hash FROM decisions ORDER BY id"))).all()
        assert [tuple(r) for r in numbered] == list(enumerate(hashes, start=1))
        assert (await DecisionLog(session).verify()).ok
    async with sessions.begin() as session:
        row = await DecisionLog(session).append(invoice_id=uuid.uuid4(), step="record", outcome="paid", reason="new")
    assert row.seq == 6 and row.prev_hash == hashes[-1]
    async with sessions() as session:
        assert (await DecisionLog(session).verify()).checked == 6
        # The guard is back after the numbering.
        try:
            await session.execute(text("UPDATE decisions SET reason = 'x'"))
            raise AssertionError("the append-only guard is gone")
        except Exception as exc:
            assert "append-only" in str(exc)
    await engine.dispose()


async def test_postgres_existing_rows_are_numbered_by_chain_order(database_url: str) -> None:
    from alembic import command

    from finance.migrations.runner import alembic_config

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    await _check(database_url, database_url)


async def test_sqlite_existing_rows_are_numbered_by_chain_order(tmp_path) -> None:
    path = tmp_path / "old.db"
    await _check(f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}")
