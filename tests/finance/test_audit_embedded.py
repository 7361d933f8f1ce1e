"""Anchoring on embedded defaults (SQLite, the in-process EVM): what `treasurer demo` does at its end."""

from __future__ import annotations

import asyncio
import sqlite3

from agents.runtime import open_treasurer
from finance.audit.anchors import Anchorer, wait_until_mined
from finance.audit.verification import verify_against_chain
from finance.migrations.runner import upgrade_async
from finance.settings import Settings
from tests.fixtures.audit import append_decisions


def _cut_the_tail(database_url: str, from_seq: int) -> None:
    with sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///")) as conn:
        conn.execute("DROP TRIGGER decisions_no_delete")
        conn.execute("DELETE FROM decisions WHERE seq >= ?", (from_seq,))


async def test_anchor_and_verify_on_the_embedded_chain(embedded_settings: Settings) -> None:
    await upgrade_async(embedded_settings.database_url)
    async with open_treasurer(embedded_settings) as treasurer:
        chain = treasurer.context.chain
        anchorer = Anchorer(treasurer.sessions, chain, embedded_settings)
        await append_decisions(treasurer.sessions, 6)
        anchor = await wait_until_mined(anchorer, await anchorer.anchor_now())
        assert anchor.seq == 6 and anchor.gas_used > 21_000
        await append_decisions(treasurer.sessions, 2)

        async with treasurer.sessions() as session:
            intact = await verify_against_chain(session, chain, embedded_settings.anchor_file)
        assert intact.intact and intact.newest_anchored_seq == 6 and intact.unanchored_rows == 2

        await asyncio.to_thread(_cut_the_tail, embedded_settings.database_url, 4)
        async with treasurer.sessions() as session:
            cut = await verify_against_chain(session, chain, embedded_settings.anchor_file)
        assert not cut.intact and cut.first_bad_seq == 4
