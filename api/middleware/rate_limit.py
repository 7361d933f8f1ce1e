"""Requests per minute per client IP and per credential, counted in Redis so every replica shares the budget.

Fixed one-minute windows: one INCR per key and window, one round trip per request. A client can burst up to twice
the limit across a window boundary; for abuse protection that is fine and costs far less than a sliding log.

The limiter fails open. Rate limiting protects availability, so an outage of Redis must not become an outage of
the API: requests pass, a warning is logged at most once a minute, and Redis is left alone for a few seconds so
a hanging server does not add its timeout to every request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from finance.settings import Settings

log = logging.getLogger("treasurer.ratelimit")
WINDOW_SECONDS = 60
_EXEMPT_PREFIXES = ("/health/", "/metrics")
_BACKOFF_SECONDS = 5.0
_WARN_EVERY_SECONDS = 60.0


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.per_ip = settings.rate_limit_per_ip_per_minute
        self.per_user = settings.rate_limit_per_user_per_minute
        self._skip_until = 0.0
        self._warned_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT_PREFIXES) or scope["method"] == "OPTIONS":
            # OPTIONS: CORS preflights are answered before the request they announce, which is itself counted.
            await self.app(scope, receive, send)
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        # Behind a proxy this is the proxy unless uvicorn runs with --proxy-headers/--forwarded-allow-ips;
        # X-Forwarded-For is not read here because any client can write it.
        client = scope.get("client")
        limits = [(f"treasurer:rl:ip:{client[0] if client else 'unknown'}:{window}", self.per_ip)]
        credential = _credential(scope)
        if credential:
            # A hash of the credential names the caller without a database lookup, and keeps it out of Redis.
            digest = hashlib.sha256(credential.encode()).hexdigest()[:32]
            limits.append((f"treasurer:rl:user:{digest}:{window}", self.per_user))
        counts = await self._count(scope, [key for key, _ in limits], now)
        if counts is not None and any(n > limit for n, (_, limit) in zip(counts, limits, strict=True)):
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
            await _too_many(send, retry_after)
            return
        await self.app(scope, receive, send)

    async def _count(self, scope: Scope, keys: list[str], now: float) -> list[int] | None:
        if now < self._skip_until:
            return None
        redis = getattr(getattr(scope.get("app"), "state", None), "redis", None)
        if redis is None:  # outside the lifespan (nothing to count with)
            return None
        try:
            pipe = redis.pipeline(transaction=False)
            for key in keys:
                pipe.incr(key)
                # The window is in the key, so re-setting the TTL on each hit never extends a window; the key
                # only has to outlive it. (No EXPIRE NX: that needs Redis 7, and buys nothing here.)
                pipe.expire(key, 2 * WINDOW_SECONDS)
            replies = await pipe.execute()
        except Exception as exc:  # any Redis fault: fail open, see the module docstring
            self._skip_until = now + _BACKOFF_SECONDS
            if now - self._warned_at >= _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning(
                    "rate limiting is off: Redis is unreachable (%s); requests pass unchecked", type(exc).__name__
                )
            return None
        return [int(n) for n in replies[::2]]


def _credential(scope: Scope) -> str | None:
    headers = Headers(scope=scope)
    return headers.get("authorization") or headers.get("x-api-key") or None


async def _too_many(send: Send, retry_after: int) -> None:
    body = json.dumps({"detail": f"too many requests; try again in {retry_after} s", "code": "rate_limited"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
