"""Liveness and readiness. Readiness checks each real dependency and answers 503 when one is down,
so a load balancer stops sending invoices to a replica that could not pay them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib.metadata import version

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import RedisDep, TreasurerDep

router = APIRouter(prefix="/health", tags=["health"])
_CHECK_TIMEOUT = 2.0


@router.get("/live")
async def live() -> dict:
    return {"status": "ok"}


@router.get("/ready")
async def ready(treasurer: TreasurerDep, redis: RedisDep) -> JSONResponse:
    async def database() -> None:
        async with treasurer.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def blockchain() -> None:
        await treasurer.context.chain.w3.eth.block_number

    checks = {"database": database(), "redis": redis.ping(), "blockchain": blockchain()}
    results = await asyncio.gather(
        *(asyncio.wait_for(c, _CHECK_TIMEOUT) for c in checks.values()), return_exceptions=True
    )
    services = {
        name: "down" if isinstance(result, BaseException) else "up"
        for name, result in zip(checks, results, strict=True)
    }
    healthy = all(state == "up" for state in services.values())
    return JSONResponse(
        status_code=200 if healthy else 503,
        content={
            "status": "ready" if healthy else "degraded",
            "timestamp": datetime.now(UTC).isoformat(),
            "version": version("treasurer"),
            "services": services,
        },
    )
