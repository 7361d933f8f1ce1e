"""Request latency for Prometheus: one histogram by method, route template and status class.

Pure ASGI (see api.middleware.logging); what a scrape reads from PostgreSQL and Redis is in api.metrics.snapshot.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware.logging import route_template
from finance.metrics import HTTP_REQUEST_DURATION

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # Any method string a client invents would be a new series: fold the unknown ones together.
            method = scope["method"] if scope["method"] in _METHODS else "other"
            HTTP_REQUEST_DURATION.labels(method, route_template(scope), f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
