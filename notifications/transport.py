"""Sending mail: SMTP in production and the test suite, an outbox folder of .eml files when no server is set.

SMTP faults split in two. A dropped connection, a timeout or a 4xx reply is transient and retried here with
capped exponential backoff; if the server stays unwell, `TransientError` tells the caller to try again later.
A 5xx reply (unknown recipient, policy refusal, bad credentials) is final: retrying cannot make it succeed,
so it raises `MailUndeliverable` at once. Sending each (request, approver, kind) once is the caller's job,
kept in the database; a transport only promises that a re-send carries the same Message-ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from finance.errors import TransientError, TreasurerError
from finance.settings import Settings

log = logging.getLogger("treasurer.mail")

Security = Literal["none", "starttls", "tls"]

_LINK = re.compile(r"https?://[^\s<>\"']+")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@+-]")
_MAX_FILENAME = 150


class MailUndeliverable(TreasurerError):
    """The mail server refused the message for good (5xx): a wrong address or a configuration to fix."""

    status_code = 502
    code = "mail_undeliverable"


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: SecretStr | None = None,
        security: Security = "starttls",
        timeout: float = 10.0,
        max_attempts: int = 4,
        tls_context: ssl.SSLContext | None = None,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"smtp security must be none, starttls or tls, not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("smtp username and password go together")
        if username is not None and security == "none" and not _is_loopback(host):
            # AUTH over plain text would hand the password to anyone on the path.
            raise ValueError(f"refusing to send SMTP credentials to {host} without TLS; set smtp_security")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.host = host
        self.port = port
        self.security: Security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._tls_context = tls_context
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds

    def __repr__(self) -> str:
        return f"SmtpTransport(host={self.host!r}, port={self.port}, security={self.security!r})"

    async def send(self, message: EmailMessage) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential_jitter(multiplier=self._backoff, max=self._backoff_max, jitter=self._backoff),
            before_sleep=self._log_retry,
            reraise=True,
        )
        # A reply lost after the server accepted DATA makes a retry deliver twice; the unchanged Message-ID
        # lets mail clients fold the copies into one.
        async for attempt in retrying:
            with attempt:
                await self._send_once(message)
        log.info("mail sent via %s:%s to %s: %s", self.host, self.port, message["To"], message["Subject"])

    async def _send_once(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self._username,
                password=self._password.get_secret_value() if self._password is not None else None,
                use_tls=self.security == "tls",
                # True, not None (opportunistic): with "starttls" configured, a server without STARTTLS is refused
                # rather than sent the message, and perhaps the password, in clear.
                start_tls=self.security == "starttls",
                timeout=self._timeout,
                tls_context=self._tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and all(400 <= code < 500 for code in codes):
                raise TransientError(f"the mail server deferred the recipients ({detail})") from exc
            raise MailUndeliverable(f"the mail server refused the recipients ({detail})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise TransientError(f"the mail server deferred the message: {exc.code} {exc.message}") from exc
            raise MailUndeliverable(f"the mail server refused the message: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, TimeoutError, OSError) as exc:
            if _tls_refused(exc):
                cause = exc if isinstance(exc, ssl.SSLError) else exc.__cause__ or exc
                raise MailUndeliverable(f"TLS with {self.host}:{self.port} failed: {cause}") from exc
            raise TransientError(f"the mail server at {self.host}:{self.port} is unreachable: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            # What is left is the server lacking what we require (STARTTLS, AUTH, SMTPUTF8): waiting will not fix it.
            raise MailUndeliverable(f"the mail server at {self.host}:{self.port} cannot: {exc}") from exc

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "mail attempt %d of %d via %s:%s failed (%s); retrying in %.2fs",
            state.attempt_number,
            self._max_attempts,
            self.host,
            self.port,
            error,
            wait,
        )


class OutboxTransport:
    """The embedded default: each message becomes <folder>/<message-id>.eml, and its links are logged (and echoed
    to the CLI) so a developer can act on an approval without any mail server."""

    def __init__(self, folder: Path, *, echo: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self._echo = echo

    def __repr__(self) -> str:
        return f"OutboxTransport(folder={str(self.folder)!r})"

    async def send(self, message: EmailMessage) -> None:
        message_id = message["Message-ID"]
        if not message_id:
            # The file name is the Message-ID: that is what makes a re-send replace the first copy.
            raise ValueError("outbox messages need a Message-ID")
        path = self.folder / f"{outbox_name(str(message_id))}.eml"
        await asyncio.to_thread(_write_atomically, path, message.as_bytes())
        lines = [f"mail to {message['To']}: {message['Subject']} ({path})", *_link_lines(message)]
        for line in lines:
            log.info("%s", line)
            if self._echo is not None:
                self._echo(line)


def outbox_name(message_id: str) -> str:
    """A file name from a Message-ID: safe characters only, and distinct for distinct ids."""
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _UNSAFE_FILENAME.sub("_", bare).lstrip(".")[:_MAX_FILENAME]
    if safe and safe == bare:
        return safe
    # Replacing characters can make two ids collide ("a/b", "a_b"): a digest of the original keeps them apart.
    return f"{safe or 'message'}-{hashlib.sha256(message_id.encode()).hexdigest()[:12]}"


def transport_from_settings(settings: Settings, *, echo: Callable[[str], None] | None = None) -> MailTransport:
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout=settings.smtp_timeout_seconds,
            max_attempts=settings.smtp_max_attempts,
        )
    return OutboxTransport(settings.outbox_dir, echo=echo)


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader (or a crash) never sees half a message: the file appears whole under its final name or not at all.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _link_lines(message: EmailMessage) -> list[str]:
    # Whole lines rather than bare URLs, so "Approve: ..." and "Reject: ..." keep the label that tells them apart.
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return []
    text = body.get_content()
    return [line.strip() for line in text.splitlines() if _LINK.search(line)]


def _tls_refused(exc: BaseException) -> bool:
    # An untrusted certificate or a TLS/plain mismatch stays so however often it is tried. aiosmtplib wraps a failed
    # implicit-TLS handshake in SMTPConnectError and lets STARTTLS's ssl errors through; an EOF mid-handshake is
    # a dropped connection, and that is worth another try.
    return any(
        isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError)
        for e in (exc, exc.__cause__, exc.__context__)
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
