"""Bodies past the largest document we accept are refused (413) before they are read into memory.

A declared `Content-Length` over the limit is answered at once; a body sent without one (chunked) is counted
as it arrives and refused at the first chunk past the limit, so no way of sending reaches an endpoint whole.

Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware costs about a millisecond
of CPU per request, the largest single overhead on the intake path (bench/api.py)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` while an endpoint reads the body: FastAPI passes HTTP exceptions from there on, and
    the app's handler answers them in the API's error shape."""

    code = "too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"request body over {max_bytes} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            body = json.dumps({"detail": f"request body over {self.max_bytes} bytes", "code": "too_large"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
