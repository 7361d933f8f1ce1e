"""Log set-up shared by the API and the workers: one JSON object per line, every line carrying the request
and invoice it belongs to, and secrets masked before any handler sees them.

Context travels in `ContextVar`s rather than in logger adapters, so code deep in finance/ or agents/ logs with a
plain `logging.getLogger(...)` and still gets the ids: the API middleware sets the request id, and the worker or
graph calls `bind_invoice(invoice_id)` around the work on one invoice.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from finance.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("treasurer_request_id", default=None)
invoice_id_var: ContextVar[str | None] = ContextVar("treasurer_invoice_id", default=None)

_MASK = "[REDACTED]"
# Ordered: the specific shapes first, so `Authorization: Bearer eyJ...` reads as one masked header.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;]+"), rf"\1{_MASK}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {_MASK}"),
    (re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"), rf"\1{_MASK}"),
    # JWTs: a JSON header always base64url-encodes to "eyJ".
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), _MASK),
    (
        re.compile(r"(?i)\b([a-z_]*(?:password|passwd|secret|api_?key|token))([\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"),
        rf"\1\2{_MASK}",
    ),
    # user:password@ in connection URLs (database and Redis errors quote them).
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), rf"\1{_MASK}@"),
    # 0x + 64 hex is a private key, but also every tx hash and block hash. Keeping the first and last four digits
    # leaves 224 secret bits of a key while a tx hash can still be matched in the database by prefix and suffix.
    (re.compile(r"\b0x([0-9a-fA-F]{4})[0-9a-fA-F]{56}([0-9a-fA-F]{4})\b"), r"0x\1…\2"),
]
# The configured secrets themselves, masked verbatim wherever they show up (set by `configure_logging`).
_known_secrets: set[str] = set()


def redact(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def register_secret(value: str | None) -> None:
    """Mask this exact value in every log line (e.g. a key decrypted from a keystore at run time)."""
    if value and len(value) >= 8:  # a short value would mask ordinary words
        _known_secrets.add(value)
        if value.startswith("0x"):
            _known_secrets.add(value[2:])


class bind_invoice:  # reads as a function: `bind_invoice(id)` or `with bind_invoice(id):`
    """Tag log lines with an invoice id: for the rest of the current task, or until the `with` block ends."""

    def __init__(self, invoice_id: object) -> None:
        self._token = invoice_id_var.set(str(invoice_id) if invoice_id is not None else None)

    def __enter__(self) -> bind_invoice:
        return self

    def __exit__(self, *_exc: object) -> None:
        invoice_id_var.reset(self._token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `invoice_id` to every record (handler-level: logger filters skip propagated records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.invoice_id = invoice_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets in the rendered message and traceback, so no formatter or later handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not drop the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted as a field
# (uvicorn's `color_message` is the message again, with terminal escapes).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "invoice_id",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "invoice_id": getattr(record, "invoice_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        return json.dumps(payload, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> logging.Handler:
    """Install the treasurer handler on the root logger. Idempotent: a second call replaces the first handler,
    and handlers someone else attached (pytest's, a platform agent's) are left alone."""
    for secret in (settings.wallet_private_key, settings.jwt_secret, settings.smtp_password, settings.openai_api_key):
        register_secret(secret.get_secret_value() if secret else None)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    handler._treasurer = True  # type: ignore[attr-defined]  # marks ours for the next call
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_treasurer", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Library chatter that would drown the treasurer's own lines at INFO.
    for noisy in ("httpx", "httpcore", "web3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
