"""Request ids and the access log.

Pure ASGI rather than `BaseHTTPMiddleware`: the context variable set here is then visible in the endpoint and
everything it calls (BaseHTTPMiddleware runs the app in another task), and responses stream through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finance.logs import request_id_var

log = logging.getLogger("treasurer.access")
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into logs and headers: only a short, plain token, so it cannot forge log lines.
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and scrapes every few seconds would drown the real traffic at INFO.
_QUIET_PREFIXES = ("/health/", "/metrics")


def route_template(scope: Scope) -> str:
    """The route's path template (`/api/invoices/{invoice_id}`), never the raw path: ids in paths would give every
    request its own metric series, and raw paths may carry what belongs to one person."""
    route = scope.get("route")
    if route is None:
        # Answered before routing (a 429, a 413): find which route it was aimed at.
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    return getattr(route, "path", None) or "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not response_started:
                # The client gets an id to quote instead of Starlette's bare text; the error still propagates
                # so the server (and a test client) sees it.
                await _internal_error(send, request_id)
            raise
        finally:
            _access_line(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)


def _access_line(scope: Scope, status: int, seconds: float) -> None:
    # Route template only: the query string is never logged, approval links carry their tokens there.
    method, route = scope["method"], route_template(scope)
    quiet = scope["path"].startswith(_QUIET_PREFIXES) and status < 500
    level = logging.DEBUG if quiet else logging.WARNING if status >= 500 else logging.INFO
    duration_ms = round(seconds * 1000, 1)
    log.log(
        level,
        "%s %s %d %.1fms",
        method,
        route,
        status,
        duration_ms,
        extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
    )


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps({"detail": "internal error", "code": "internal", "request_id": request_id}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
