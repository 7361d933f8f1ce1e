"""`Idempotency-Key`: a client that retries a submission (a timeout, a dropped connection) gets the first
answer again instead of submitting the invoice twice; the same key with another body is refused.

The key is claimed in PostgreSQL before the work starts (unique per caller and key), so two concurrent
retries cannot both run it: the second is told the first is still in progress.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from agents.runtime import Treasurer
from finance.errors import TreasurerError
from finance.models import IdempotentResponse

_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


class IdempotencyConflict(TreasurerError):
    status_code = 409
    code = "idempotency_in_progress"


class IdempotencyKeyReused(TreasurerError):
    status_code = 422
    code = "idempotency_key_reused"


class InvalidIdempotencyKey(TreasurerError):
    status_code = 422
    code = "invalid_idempotency_key"


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def run_once(
    treasurer: Treasurer,
    *,
    principal: str,
    key: str | None,
    request_fingerprint: str,
    produce: Callable[[], Awaitable[tuple[int, dict]]],
) -> JSONResponse:
    if key is None:
        status, body = await produce()
        return JSONResponse(status_code=status, content=body)
    if not _KEY.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key: 1 to 200 characters of letters, digits and . _ : -")
    try:
        async with treasurer.sessions.begin() as session:
            session.add(IdempotentResponse(principal=principal, key=key, request_sha256=request_fingerprint))
    except IntegrityError:
        return await _replay(treasurer, principal, key, request_fingerprint)
    try:
        status, body = await produce()
    except BaseException:
        # Nothing to replay: free the key so the client's retry runs the request again.
        async with treasurer.sessions.begin() as session:
            await session.execute(
                delete(IdempotentResponse).where(
                    IdempotentResponse.principal == principal, IdempotentResponse.key == key
                )
            )
        raise
    async with treasurer.sessions.begin() as session:
        row = await session.scalar(
            select(IdempotentResponse).where(IdempotentResponse.principal == principal, IdempotentResponse.key == key)
        )
        row.status_code, row.body = status, body
    return JSONResponse(status_code=status, content=body)


async def _replay(treasurer: Treasurer, principal: str, key: str, request_fingerprint: str) -> JSONResponse:
    async with treasurer.sessions() as session:
        row = await session.scalar(
            select(IdempotentResponse).where(IdempotentResponse.principal == principal, IdempotentResponse.key == key)
        )
    if row is None:  # the first attempt failed and freed the key meanwhile
        raise IdempotencyConflict("a request with this Idempotency-Key just failed; retry it")
    if row.request_sha256 != request_fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request; use a new key")
    if row.status_code is None:
        raise IdempotencyConflict("a request with this Idempotency-Key is still in progress; retry shortly")
    return JSONResponse(status_code=row.status_code, content=row.body, headers={"Idempotent-Replayed": "true"})
