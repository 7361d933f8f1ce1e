"""`treasurer audit anchor` and `treasurer audit verify --against-chain` against every tamper issue 11 lists, done
as a database superuser with the append-only triggers dropped, over real PostgreSQL and anvil."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli import app
from finance.settings import Settings, get_settings
from tests.api.test_cli import env_settings  # noqa: F401 - the fixture
from tests.fixtures.audit import Trail, append_decisions, rechain_from, superuser, trail  # noqa: F401

runner = CliRunner()


def _flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def audit_env(env_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:  # noqa: F811
    monkeypatch.setenv("TREASURER_ANCHOR_FILE", str(env_settings.anchor_file))
    get_settings.cache_clear()
    return env_settings


async def _cli(*args: str):
    # The command runs its own event loop; keep it off this test's loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


@pytest.fixture
async def anchored_log(trail: Trail, audit_env: Settings) -> Settings:  # noqa: F811
    """Twelve decisions, anchored on chain at seq 4 and at seq 10; the last two not yet anchored."""
    for count in (4, 6):
        await append_decisions(trail.sessions, count)
        anchored = await _cli("audit", "anchor")
        assert anchored.exit_code == 0, anchored.output
    await append_decisions(trail.sessions, 2)
    return audit_env


async def test_anchor_prints_seq_hash_tx_and_gas(trail: Trail, audit_env: Settings) -> None:  # noqa: F811
    await append_decisions(trail.sessions, 3)
    result = await _cli("audit", "anchor")
    assert result.exit_code == 0, result.output
    flat = _flat(result.output)
    assert "anchored seq 3, head hash " in flat and ", tx 0x" in flat and "gas used 2" in flat
    # The anchor file holds it too, outside the database.
    assert '"seq": 3' in audit_env.anchor_file.read_text()


async def test_an_untouched_log_verifies_and_counts_what_is_not_anchored(anchored_log: Settings) -> None:
    result = await _cli("audit", "verify", "--against-chain")
    flat = _flat(result.output)
    assert result.exit_code == 0, result.output
    assert "decision log intact against the chain: 12 rows" in flat
    assert "2 anchor(s) confirmed on chain, the newest for seq 10" in flat
    assert "2 row(s) not yet anchored" in flat


def _delete_middle(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM decisions WHERE seq = 7")


def _delete_last(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM decisions WHERE seq >= 9")


def _truncate(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE decisions")


def _reorder(conn: psycopg.Connection) -> None:
    conn.execute("UPDATE decisions SET seq = -1 WHERE seq = 6")
    conn.execute("UPDATE decisions SET seq = 6 WHERE seq = 7")
    conn.execute("UPDATE decisions SET seq = 7 WHERE seq = -1")


def _rewrite(conn: psycopg.Connection) -> None:
    conn.execute("UPDATE decisions SET reason = 'paid to the usual address' WHERE seq = 8")


def _rewrite_consistently(conn: psycopg.Connection) -> None:
    _rewrite(conn)
    rechain_from(conn, 8)


TAMPERS: list[tuple[str, Callable[[psycopg.Connection], None], int, str]] = [
    ("delete a middle row", _delete_middle, 7, "seq 7 missing"),
    ("delete the last rows", _delete_last, 9, "the log ends at seq 8"),
    ("truncate", _truncate, 1, "the log ends at seq 0"),
    ("reorder", _reorder, 6, "seq 6 does not chain to seq 5"),
    ("inconsistent rewrite", _rewrite, 8, "seq 8 rewritten"),
    # Every later hash recomputed: only the anchor at seq 10 notices, so the row can only be placed after the
    # last anchor that still matches (seq 4).
    ("consistent rewrite", _rewrite_consistently, 5, "the first altered row lies between seq 5"),
]


@pytest.mark.parametrize(("tamper", "first_bad", "says"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS])
async def test_every_tamper_is_found_at_its_first_bad_seq(
    anchored_log: Settings, tamper: Callable[[psycopg.Connection], None], first_bad: int, says: str
) -> None:
    with superuser(anchored_log.database_url) as conn:
        tamper(conn)

    result = await _cli("audit", "verify", "--against-chain")

    flat = _flat(result.output)
    assert result.exit_code == 2, result.output
    assert f"decision log tampered: first bad seq {first_bad}" in flat
    assert says in flat
    assert "Traceback" not in result.output


async def test_the_anchor_file_alone_is_enough_when_the_anchor_table_is_emptied(anchored_log: Settings) -> None:
    with superuser(anchored_log.database_url) as conn:
        _rewrite_consistently(conn)
        conn.execute("DELETE FROM audit_anchors")
    result = await _cli("audit", "verify", "--against-chain")
    assert result.exit_code == 2 and "first bad seq 5" in _flat(result.output), result.output


async def test_the_anchor_table_alone_is_enough_when_the_file_is_lost(anchored_log: Settings) -> None:
    await asyncio.to_thread(anchored_log.anchor_file.unlink)
    with superuser(anchored_log.database_url) as conn:
        _delete_last(conn)
    result = await _cli("audit", "verify", "--against-chain")
    assert result.exit_code == 2 and "first bad seq 9" in _flat(result.output), result.output


async def test_an_edited_anchor_record_is_tampering_and_the_chain_still_decides(anchored_log: Settings) -> None:
    with superuser(anchored_log.database_url) as conn:
        conn.execute("UPDATE audit_anchors SET head_hash = repeat('0', 64) WHERE seq = 10")
    result = await _cli("audit", "verify", "--against-chain")
    flat = _flat(result.output)
    assert result.exit_code == 2, result.output
    assert "anchor records altered" in flat and "the log itself agrees with the chain" in flat


async def test_plain_verify_sees_a_missing_seq_but_not_a_cut_tail(anchored_log: Settings) -> None:
    with superuser(anchored_log.database_url) as conn:
        conn.execute("DELETE FROM decisions WHERE seq >= 11")  # the tail: only an anchor can tell
    cut = await _cli("audit", "verify")
    assert cut.exit_code == 0 and "10 rows" in _flat(cut.output)
    with superuser(anchored_log.database_url) as conn:
        _delete_middle(conn)
    holed = await _cli("audit", "verify")
    assert holed.exit_code == 2 and "broken at seq 7" in _flat(holed.output), holed.output


async def test_an_unreachable_node_is_one_line_with_a_hint(
    anchored_log: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREASURER_CHAIN_RPC_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    result = await _cli("audit", "verify", "--against-chain")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "TREASURER_CHAIN_RPC_URL" in result.output
