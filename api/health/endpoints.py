"""Liveness and readiness. Readiness checks each real dependency and answers 503 when one is down,
so a load balancer stops sending invoices to a replica that could not pay them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib.metadata import version

import aiosmtplib
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import RedisDep, SettingsDep, TreasurerDep

router = APIRouter(prefix="/health", tags=["health"])
_CHECK_TIMEOUT = 2.0
# Without an SMTP host, mail goes to the outbox folder: nothing to reach, and nothing down.
SMTP_OUTBOX = "not configured (outbox)"


@router.get("/live")
async def live() -> dict:
    return {"status": "ok"}


@router.get("/ready")
async def ready(treasurer: TreasurerDep, redis: RedisDep, settings: SettingsDep) -> JSONResponse:
    async def database() -> None:
        async with treasurer.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def blockchain() -> None:
        await treasurer.context.chain.w3.eth.block_number

    async def smtp() -> None:
        # Connect, read the 220 greeting, QUIT: enough to know mail can be handed over, without sending any.
        # No STARTTLS and no login here; a wrong certificate or password shows up on the first real send.
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=False,
            timeout=_CHECK_TIMEOUT,
        )
        await client.connect()
        try:
            await client.quit()
        finally:
            client.close()

    checks = {"database": database(), "redis": redis.ping(), "blockchain": blockchain()}
    if settings.smtp_host:
        checks["smtp"] = smtp()
    results = await asyncio.gather(
        *(asyncio.wait_for(c, _CHECK_TIMEOUT) for c in checks.values()), return_exceptions=True
    )
    services = {
        name: "down" if isinstance(result, BaseException) else "up"
        for name, result in zip(checks, results, strict=True)
    }
    healthy = all(state == "up" for state in services.values())
    if not settings.smtp_host:
        services["smtp"] = SMTP_OUTBOX
    return JSONResponse(
        status_code=200 if healthy else 503,
        content={
            "status": "ready" if healthy else "degraded",
            "timestamp": datetime.now(UTC).isoformat(),
            "version": version("treasurer"),
            "services": services,
        },
    )
