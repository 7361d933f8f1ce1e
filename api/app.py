"""The FastAPI application. Routes are thin: parse, call a service, render."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agents.approvals.scheduler import tick
from agents.extraction.document_readers import DocumentReaders
from agents.extraction.pdf import MAX_UPLOAD_BYTES
from agents.runtime import open_treasurer
from api.approvals.endpoints import router as approvals_router
from api.approvals.pages import router as approval_pages_router
from api.dashboard.endpoints import router as dashboard_router
from api.decisions.endpoints import router as decisions_router
from api.health.endpoints import router as health_router
from api.invoices.endpoints import router as invoices_router
from api.middleware import install
from api.middleware.body_limit import BodyLimit, BodyTooLarge
from api.openapi import install as install_openapi
from api.policies.endpoints import router as policies_router
from api.tokens import AccessTokens
from api.transactions.endpoints import router as transactions_router
from api.treasury.endpoints import router as treasury_router
from api.users.endpoints import router as users_router
from api.vendors.endpoints import router as vendors_router
from api.web.pages import install as install_web
from finance.chain.client import TRANSIENT
from finance.errors import TreasurerError
from finance.settings import Settings, get_settings

# Bodies past the largest document we accept are refused before they are read into memory.
_MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.access_tokens = AccessTokens(settings.jwt_secret)
        app.state.redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        app.state.document_readers = DocumentReaders(settings.document_readers, settings.document_read_queue)
        try:
            async with open_treasurer(settings) as treasurer:
                app.state.treasurer = treasurer
                # The embedded default has no worker: this process keeps the approval timers itself.
                scheduler = asyncio.create_task(_embedded_scheduler(treasurer)) if settings.embedded_chain else None
                try:
                    yield
                finally:
                    if scheduler is not None:
                        scheduler.cancel()
                        await asyncio.gather(scheduler, return_exceptions=True)
        finally:
            app.state.document_readers.close()
            await app.state.redis.aclose()

    app = FastAPI(
        title="Treasurer",
        version="0.1.0",
        summary="Pays vendor invoices in a stablecoin, under policy, exactly once.",
        lifespan=lifespan,
    )
    app.include_router(health_router)
    app.include_router(invoices_router)
    app.include_router(policies_router)
    app.include_router(vendors_router)
    app.include_router(treasury_router)
    app.include_router(approvals_router)
    app.include_router(approval_pages_router)
    app.include_router(users_router)
    app.include_router(dashboard_router)
    app.include_router(transactions_router)
    app.include_router(decisions_router)
    install_web(app)
    install_openapi(app)

    app.add_middleware(BodyLimit, max_bytes=_MAX_BODY_BYTES)

    @app.exception_handler(TreasurerError)
    async def _treasurer_error(_request: Request, exc: TreasurerError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, headers=exc.headers, content={"detail": exc.message, "code": exc.code}
        )

    async def _unreachable(_request: Request, exc: Exception) -> JSONResponse:
        # Nothing was decided on missing data: what is stored stays stored, and the reconciler or a retry
        # finishes it. The client learns it may retry; it never sees a half-made decision.
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "10"},
            content={
                "detail": f"a dependency (chain node or database) is unreachable ({type(exc).__name__}); "
                "anything already submitted is kept and will be processed",
                "code": "unavailable",
            },
        )

    for transient in (*TRANSIENT, OperationalError, InterfaceError):
        app.add_exception_handler(transient, _unreachable)

    @app.exception_handler(DataError)
    async def _out_of_range(_request: Request, exc: DataError) -> JSONResponse:
        # A value the schema let through but the database cannot hold (a number past bigint): bad input, not a 500.
        return JSONResponse(
            status_code=422,
            content={
                "detail": "a value in the request is out of the range this API accepts",
                "code": "invalid_request",
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI calls an undecodable body a 400 parse error; for the client it is bad input like any other.
            return JSONResponse(
                status_code=422,
                content={
                    "detail": "the request body is not valid UTF-8; send the invoice as UTF-8 text",
                    "code": "invalid_request",
                },
            )
        if isinstance(exc, BodyTooLarge):
            return JSONResponse(status_code=413, content={"detail": exc.detail, "code": exc.code})
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            message = error["msg"].removeprefix("Value error, ")
            messages.append(f"{where}: {message}" if where else message)
        return JSONResponse(
            status_code=422,
            content={"detail": "; ".join(messages), "code": "invalid_request", "errors": _jsonable(exc.errors())},
        )

    # Last, so its middleware wraps the body limit too: a 413 also gets a request id and security headers.
    install(app, settings)
    return app


async def _embedded_scheduler(treasurer) -> None:
    log = logging.getLogger("treasurer.approvals.scheduler")
    while True:
        try:
            await tick(treasurer.sessions, treasurer.approvals, None)
        except Exception:  # the next tick tries again; nothing is lost, PostgreSQL holds it all
            log.exception("approval scheduler tick failed")
        await asyncio.sleep(treasurer.context.settings.approval_tick_seconds)


def _jsonable(errors: list[dict]) -> list[dict]:
    # Pydantic puts the offending input and exception objects in `ctx`; keep only what a client can read.
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
