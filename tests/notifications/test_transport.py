"""Sending: SMTP against a real aiosmtpd server (retries on 4xx and dropped connections, none on 5xx), and the
outbox folder that stands in for a mail server when none is configured."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from finance.errors import TransientError
from finance.settings import Settings
from notifications.mail import compose
from notifications.transport import (
    MailUndeliverable,
    OutboxTransport,
    SmtpTransport,
    outbox_name,
    transport_from_settings,
)
from tests.fixtures.smtp import SmtpServer, free_port
from tests.notifications.mails import APPROVE_URL, REJECT_URL, SENDER, approval_mail

_LINK = re.compile(r"https?://\S+")


def _smtp(server: SmtpServer, **overrides: object) -> SmtpTransport:
    options: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout": 5.0,
        "max_attempts": 3,
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.05,
    }
    options.update(overrides)
    return SmtpTransport(**options)  # type: ignore[arg-type]


async def test_smtp_delivers(smtp_server: SmtpServer) -> None:
    mail = approval_mail()
    await _smtp(smtp_server).send(compose(mail, SENDER))

    assert len(smtp_server.messages) == 1
    received = smtp_server.received[0]
    assert received.mail_from == "treasurer@example.com"
    assert received.rcpt_tos == ("alice@example.com",)
    message = received.message
    assert message["Message-ID"] == mail.message_id
    assert message["Subject"] == "Approval needed: Globex invoice INV-7 for 12,500.00 USD"
    text = message.get_body(preferencelist=("plain",)).get_content()
    approve = next(line for line in text.splitlines() if line.startswith("Approve: "))
    assert _LINK.findall(approve) == [APPROVE_URL]
    html = message.get_body(preferencelist=("html",)).get_content()
    assert REJECT_URL in html


async def test_smtp_retries_deferrals(smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    smtp_server.fail_next(2, code=451)
    with caplog.at_level(logging.WARNING, logger="treasurer.mail"):
        await _smtp(smtp_server).send(compose(approval_mail(), SENDER))

    assert smtp_server.attempts == 3
    assert len(smtp_server.messages) == 1
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2


async def test_smtp_gives_up_on_lasting_deferrals(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(5, code=421)
    with pytest.raises(TransientError):
        await _smtp(smtp_server, max_attempts=2).send(compose(approval_mail(), SENDER))
    assert smtp_server.attempts == 2
    assert smtp_server.messages == []


async def test_smtp_does_not_retry_refusals(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, code=550)
    with pytest.raises(MailUndeliverable) as caught:
        await _smtp(smtp_server).send(compose(approval_mail(), SENDER))

    assert caught.value.status_code == 502 and caught.value.code == "mail_undeliverable"
    assert "550" in caught.value.message
    assert smtp_server.attempts == 1
    assert smtp_server.messages == []


async def test_smtp_refused_recipient_is_undeliverable(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, code=550, stage="rcpt", message="5.1.1 no such user")
    with pytest.raises(MailUndeliverable, match="no such user"):
        await _smtp(smtp_server).send(compose(approval_mail(), SENDER))
    assert smtp_server.attempts == 0


async def test_smtp_deferred_recipient_is_retried(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, code=450, stage="rcpt")
    await _smtp(smtp_server).send(compose(approval_mail(), SENDER))
    assert len(smtp_server.messages) == 1


async def test_smtp_connection_refused_retries_then_raises(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", max_attempts=3, backoff_seconds=0.01, backoff_max_seconds=0.02
    )
    with caplog.at_level(logging.WARNING, logger="treasurer.mail"), pytest.raises(TransientError, match="unreachable"):
        await transport.send(compose(approval_mail(), SENDER))
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2


async def test_smtp_authenticates_without_logging_the_password(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.require_auth("treasurer", "s3cret-pa55word")
    with caplog.at_level(logging.DEBUG):
        await _smtp(smtp_server, username="treasurer", password=SecretStr("s3cret-pa55word")).send(
            compose(approval_mail(), SENDER)
        )
    assert smtp_server.received[0].login == "treasurer"
    assert "s3cret-pa55word" not in caplog.text


async def test_smtp_bad_credentials_are_undeliverable(smtp_server: SmtpServer) -> None:
    smtp_server.require_auth("treasurer", "right")
    with pytest.raises(MailUndeliverable) as caught:
        await _smtp(smtp_server, username="treasurer", password=SecretStr("wrong")).send(
            compose(approval_mail(), SENDER)
        )
    assert "wrong" not in caught.value.message
    assert smtp_server.attempts == 0


async def test_smtp_without_credentials_is_refused_by_an_auth_server(smtp_server: SmtpServer) -> None:
    smtp_server.require_auth("treasurer", "right")
    with pytest.raises(MailUndeliverable, match="530"):
        await _smtp(smtp_server).send(compose(approval_mail(), SENDER))


async def test_starttls_required_is_never_downgraded(smtp_server: SmtpServer) -> None:
    # The test server offers no STARTTLS: with "starttls" configured, nothing may go out in clear.
    with pytest.raises(MailUndeliverable, match="STARTTLS"):
        await _smtp(smtp_server, security="starttls").send(compose(approval_mail(), SENDER))
    assert smtp_server.attempts == 0


def test_no_credentials_in_clear_to_remote_hosts() -> None:
    with pytest.raises(ValueError, match="without TLS"):
        SmtpTransport(host="mail.example.com", port=25, username="u", password=SecretStr("p"), security="none")
    SmtpTransport(host="localhost", port=25, username="u", password=SecretStr("p"), security="none")
    SmtpTransport(host="mail.example.com", port=587, username="u", password=SecretStr("p"), security="starttls")


def test_smtp_repr_hides_the_password() -> None:
    transport = SmtpTransport(host="mail.example.com", port=587, username="u", password=SecretStr("hunter2"))
    assert "hunter2" not in repr(transport) and "hunter2" not in str(vars(transport))


async def test_outbox_writes_one_file_per_message_id(tmp_path: Path) -> None:
    echoed: list[str] = []
    outbox = OutboxTransport(tmp_path / "outbox", echo=echoed.append)
    mail = approval_mail()

    await outbox.send(compose(mail, SENDER))
    await outbox.send(compose(mail, SENDER))
    await outbox.send(compose(approval_mail(recipient="bob@example.com"), SENDER))

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    assert all(path.suffix == ".eml" for path in files)
    mine = tmp_path / "outbox" / f"{mail.message_id.strip('<>')}.eml"
    assert mine in files
    assert mail.message_id in mine.read_text()
    assert f"Approve: {APPROVE_URL}" in echoed
    assert f"Reject:  {REJECT_URL}" in echoed
    assert any(line.startswith("mail to alice@example.com: Approval needed: Globex") for line in echoed)


async def test_outbox_logs_the_links(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="treasurer.mail"):
        await OutboxTransport(tmp_path).send(compose(approval_mail(), SENDER))
    assert APPROVE_URL in caplog.text and REJECT_URL in caplog.text
    assert "alice@example.com" in caplog.text


async def test_outbox_needs_a_message_id(tmp_path: Path) -> None:
    message = compose(approval_mail(), SENDER)
    del message["Message-ID"]
    with pytest.raises(ValueError):
        await OutboxTransport(tmp_path).send(message)


def test_outbox_names_are_safe_and_distinct() -> None:
    assert outbox_name("<approval-1@treasurer>") == "approval-1@treasurer"
    assert "/" not in outbox_name("<../../etc/passwd>") and not outbox_name("<../../etc/passwd>").startswith(".")
    assert outbox_name("<a/b@x>") != outbox_name("<a_b@x>")
    assert outbox_name("<a/b@x>") != outbox_name("<a\\b@x>")


def test_transport_from_settings(tmp_path: Path) -> None:
    outbox = transport_from_settings(Settings(_env_file=None, environment="dev", outbox_dir=tmp_path))
    assert isinstance(outbox, OutboxTransport) and outbox.folder == tmp_path

    smtp = transport_from_settings(
        Settings(
            _env_file=None,
            environment="dev",
            smtp_host="mail.example.com",
            smtp_port=465,
            smtp_security="tls",
            smtp_username="u",
            smtp_password=SecretStr("p"),
        )
    )
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.security) == ("mail.example.com", 465, "tls")


async def test_starttls_delivers_and_authenticates(smtp_starttls_server: SmtpServer) -> None:
    server = smtp_starttls_server
    server.require_auth("treasurer", "pw")
    transport = _smtp(
        server,
        security="starttls",
        tls_context=server.client_tls_context(),
        username="treasurer",
        password=SecretStr("pw"),
    )
    await transport.send(compose(approval_mail(), SENDER))
    assert server.received[0].login == "treasurer"


async def test_implicit_tls_delivers(smtp_tls_server: SmtpServer) -> None:
    transport = _smtp(smtp_tls_server, security="tls", tls_context=smtp_tls_server.client_tls_context())
    await transport.send(compose(approval_mail(), SENDER))
    assert len(smtp_tls_server.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_untrusted_certificate_is_not_retried(
    security: str, smtp_starttls_server: SmtpServer, smtp_tls_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_starttls_server if security == "starttls" else smtp_tls_server
    with caplog.at_level(logging.WARNING, logger="treasurer.mail"), pytest.raises(MailUndeliverable, match="certif"):
        await _smtp(server, security=security).send(compose(approval_mail(), SENDER))
    assert "retrying" not in caplog.text
    assert server.messages == []


async def test_plain_client_is_refused_by_a_starttls_server(smtp_starttls_server: SmtpServer) -> None:
    with pytest.raises(MailUndeliverable, match="530"):
        await _smtp(smtp_starttls_server, security="none").send(compose(approval_mail(), SENDER))


async def test_tls_against_a_plain_server_is_not_retried(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="treasurer.mail"), pytest.raises(MailUndeliverable, match="TLS"):
        await _smtp(smtp_server, security="tls").send(compose(approval_mail(), SENDER))
    assert "retrying" not in caplog.text
