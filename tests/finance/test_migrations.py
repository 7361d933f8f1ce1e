"""The migrations build exactly the schema the models describe, and they run backwards too."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as create_sync_engine

from finance.migrations.runner import alembic_config, upgrade
from finance.models import Base


def _differences(url: str) -> list:
    engine = create_sync_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return diff


async def test_postgres_schema_matches_the_models(database_url: str) -> None:
    sync_url = database_url  # psycopg 3 serves sync and async alike
    assert await asyncio.to_thread(_differences, sync_url) == []


async def test_postgres_downgrade_and_upgrade_round_trip(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    await asyncio.to_thread(upgrade, database_url)
    assert await asyncio.to_thread(_differences, database_url) == []


async def test_sqlite_schema_matches_the_models(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    await asyncio.to_thread(upgrade, url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    assert await asyncio.to_thread(_differences, url) == []
