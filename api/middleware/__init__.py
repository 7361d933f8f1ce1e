"""Cross-cutting HTTP concerns: request ids and access logs, metrics, security headers, CORS, rate limits.

`install` is the one place they are wired, so their order is visible here. Starlette runs the middleware added
last first; from the outside in, a request meets:

1. security headers: outermost, so every response gets them, the 500s and 429s made below included;
2. request context: the request id is set before anything else logs, and the access line covers everything;
3. metrics: latency of every answer, rate-limited and failed ones included;
4. CORS: a preflight is answered before the limiter, and a 429 still carries CORS headers the browser needs
   to read it;
5. rate limiting: last, nearest the routes, so a rejected request costs one Redis round trip and nothing more.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.metrics.endpoints import router as metrics_router
from api.middleware.logging import REQUEST_ID_HEADER, RequestContextMiddleware
from api.middleware.metrics import MetricsMiddleware
from api.middleware.rate_limit import RateLimitMiddleware
from api.middleware.security import SecurityHeadersMiddleware
from finance.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    app.state.started_monotonic = time.monotonic()
    app.include_router(metrics_router)

    # Added innermost first (see the module docstring for the resulting order).
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.cors_origins:
        wildcard = "*" in settings.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # Browsers refuse credentials with a wildcard origin; named origins may send them.
            allow_credentials=not wildcard,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
