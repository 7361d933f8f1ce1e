"""The environment of a child process (a worker the test starts and may kill) that must see exactly the
test's database, chain, wallet and queues, whatever TREASURER_* or OPENAI_* the developer's shell holds."""

from __future__ import annotations

import os

from finance.settings import Settings


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TREASURER_", "OPENAI_"))}
    env.update(
        TREASURER_ENVIRONMENT="test",
        TREASURER_DATABASE_URL=settings.database_url,
        TREASURER_REDIS_URL=settings.redis_url,
        TREASURER_INTAKE_STREAM=settings.intake_stream,
        TREASURER_CHAIN_RPC_URL=settings.chain_rpc_url,
        TREASURER_CHAIN_ID=str(settings.chain_id),
        TREASURER_WALLET_PRIVATE_KEY=settings.wallet_private_key.get_secret_value(),
        TREASURER_JWT_SECRET=settings.jwt_secret.get_secret_value(),
        TREASURER_RECEIPT_TIMEOUT_SECONDS=str(settings.receipt_timeout_seconds),
        TREASURER_OUTBOX_DIR=str(settings.outbox_dir),
        TREASURER_ANCHOR_FILE=str(settings.anchor_file),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
