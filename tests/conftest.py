"""Shared fixtures: real PostgreSQL, Redis and anvil. A missing server fails the run with a clear
message; nothing is skipped, because a suite that silently skips its integration tests proves nothing.

URLs are configurable: TREASURER_TEST_POSTGRES_URL (an admin connection to an existing database),
TREASURER_TEST_REDIS_URL, TREASURER_ANVIL_BIN (see finance.chain.anvil).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
import redis as redis_sync
from pydantic import SecretStr

from finance.chain.anvil import AnvilNode, AnvilUnavailable
from finance.chain.anvil import start_anvil as _start_anvil
from finance.migrations.runner import upgrade
from finance.settings import Settings

pytest_plugins = ["tests.fixtures.smtp", "tests.fixtures.browser"]

PG_ADMIN_URL = os.environ.get("TREASURER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TREASURER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _sqlalchemy_url(conninfo: str, dbname: str) -> str:
    base = conninfo.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{dbname}"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A database migrated once; each test gets a copy of it (CREATE DATABASE ... TEMPLATE is fast)."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); start it or set TREASURER_TEST_POSTGRES_URL"
        )
    name = f"treasurer_tmpl_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_sqlalchemy_url(PG_ADMIN_URL, name))
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def database_url(postgres_template: str) -> Iterator[str]:
    name = f"treasurer_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield _sqlalchemy_url(PG_ADMIN_URL, name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    client = redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis_sync.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); start it or set TREASURER_TEST_REDIS_URL")
    client.flushdb()
    client.close()
    return REDIS_URL


def start_anvil(*extra: str) -> AnvilNode:
    try:
        return _start_anvil(*extra)
    except AnvilUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    # Each test's bootstrap funds a fresh wallet from anvil's first account: the default 10,000 ETH would
    # run out after about a hundred tests in one session.
    node = start_anvil("--balance", "100000000")
    yield node
    node.stop()


@pytest.fixture
def wallet_key() -> str:
    """A fresh treasury wallet per test, so nonces and balances never leak between tests."""
    return "0x" + secrets.token_hex(32)


@pytest.fixture
def settings(database_url: str, redis_url: str, anvil: AnvilNode, wallet_key: str, tmp_path: Path) -> Settings:
    # environment=test: the default-secret guard is active, as it would be in production.
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        intake_stream=f"test:invoices:{uuid.uuid4().hex[:6]}",
        chain_rpc_url=anvil.url,
        chain_id=31337,
        wallet_private_key=SecretStr(wallet_key),
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        receipt_timeout_seconds=20,
        outbox_dir=tmp_path / "outbox",
        anchor_file=tmp_path / "anchors.jsonl",
    )


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment="dev",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'treasurer.db'}",
        chain_rpc_url="embedded",
        outbox_dir=tmp_path / "outbox",
        anchor_file=tmp_path / "anchors.jsonl",
    )


@pytest_asyncio.fixture
async def treasurer(settings: Settings) -> AsyncIterator:
    from agents.runtime import open_treasurer
    from tests.fixtures.vendors import register_sample_vendors

    async with open_treasurer(settings, bootstrap_chain=True) as running:
        await register_sample_vendors(running)
        yield running
