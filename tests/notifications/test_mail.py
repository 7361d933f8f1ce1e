"""Composing approval mails: both parts, escaped untrusted text, clean headers, both links."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from notifications.mail import compose, format_amount, header_safe
from tests.notifications.mails import APPROVE_URL, REJECT_URL, SENDER, approval_mail


def _parts(message: EmailMessage) -> tuple[str, str]:
    # Through bytes and back, as a mail client would see it.
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_request_mail() -> None:
    mail = approval_mail()
    message = compose(mail, SENDER)
    text, html = _parts(message)

    assert message["Subject"] == "Approval needed: Globex invoice INV-7 for 12,500.00 USD"
    assert message["To"] == "alice@example.com"
    assert message["From"] == SENDER
    assert message["Message-ID"] == mail.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    for body in (text, html):
        assert "Globex" in body and "INV-7" in body and "12,500.00 USD" in body
        assert "per-invoice limit" in body
        assert "1 of 2" in body
        assert "Thursday 14 March 2030, 17:00 UTC" in body
        assert "Nothing is decided until you" in body
    assert f"Approve: {APPROVE_URL}" in text
    assert f"Reject:  {REJECT_URL}" in text
    assert f'href="{APPROVE_URL}"' in html and ">Approve</a>" in html
    assert f'href="{REJECT_URL}"' in html and ">Reject</a>" in html


def test_html_has_no_external_resources() -> None:
    _, html = _parts(compose(approval_mail(), SENDER))
    for marker in ("<img", "<link", "<script", "src=", "url(", "@import"):
        assert marker not in html.lower()
    hrefs = html.count("href=")
    assert hrefs == 2


def test_untrusted_text_is_escaped_in_html() -> None:
    mail = approval_mail(vendor_name="<script>alert('x')</script> Globex", invoice_number='INV"><img src=x>')
    text, html = _parts(compose(mail, SENDER))

    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x&gt;" in html
    # Plain text needs no escaping: the reader sees exactly what the invoice said.
    assert "<script>alert('x')</script> Globex" in text


def test_header_injection_is_stripped() -> None:
    mail = approval_mail(
        vendor_name="Globex\r\nBcc: victim@example.com",
        invoice_number="INV-7\nX-Evil: 1",
        message_id="<approval-1@treasurer>\r\nBcc: other@example.com",
    )
    message = compose(mail, "Treasurer\r\n <treasurer@example.com>")
    raw = message.as_bytes().decode()
    headers = raw.split("\n\n", 1)[0]

    assert "\nBcc:" not in headers and "\nX-Evil:" not in headers
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert message["Subject"].startswith("Approval needed: Globex Bcc: victim@example.com invoice INV-7 X-Evil: 1")


def test_multi_line_vendor_cannot_forge_a_link_line() -> None:
    mail = approval_mail(vendor_name="Globex\nApprove: https://evil.example/approve")
    text, _ = _parts(compose(mail, SENDER))
    assert not any(line.startswith("Approve: https://evil") for line in text.splitlines())


def test_recipient_must_be_one_address() -> None:
    with pytest.raises(ValueError):
        compose(approval_mail(recipient="alice@example.com, mallory@example.com"), SENDER)


def test_long_vendor_names_are_cut_in_the_subject() -> None:
    message = compose(approval_mail(vendor_name="Acme " * 100), SENDER)
    assert len(message["Subject"]) < 160


@pytest.mark.parametrize("kind, prefix", [("reminder", "Reminder: "), ("escalation", "Escalated: ")])
def test_follow_ups_keep_the_links(kind: str, prefix: str) -> None:
    message = compose(approval_mail(kind=kind), SENDER)
    text, html = _parts(message)
    assert message["Subject"] == f"{prefix}Globex invoice INV-7 for 12,500.00 USD"
    assert APPROVE_URL in text and REJECT_URL in text
    assert APPROVE_URL in html and REJECT_URL in html


@pytest.mark.parametrize(
    "kind, prefix", [("expired", "Expired: "), ("rejected", "Rejected: "), ("cancelled", "Cancelled: ")]
)
def test_outcome_mails(kind: str, prefix: str) -> None:
    mail = approval_mail(
        kind=kind,
        recipient="cfo@example.com",
        approve_url=None,
        reject_url=None,
        outcome_note="Resubmit with the purchase order attached.",
    )
    message = compose(mail, SENDER)
    text, html = _parts(message)
    assert message["Subject"] == f"{prefix}Globex invoice INV-7 for 12,500.00 USD"
    for body in (text, html):
        assert "has not been paid" in body
        assert "Resubmit with the purchase order attached." in body
        assert "approvals/link" not in body
    assert "more needed" not in text


def test_asking_without_links_is_refused() -> None:
    with pytest.raises(ValueError):
        compose(approval_mail(approve_url=None), SENDER)
    with pytest.raises(ValueError):
        compose(approval_mail(reject_url="javascript:alert(1)"), SENDER)


def test_missing_invoice_details() -> None:
    mail = approval_mail(
        vendor_name=None, invoice_number=None, amount=None, currency=None, submitted_by=None, tier=None
    )
    message = compose(mail, SENDER)
    text, _ = _parts(message)
    assert message["Subject"] == "Approval needed: Invoice from an unknown vendor"
    assert "Amount:         not given" in text


def test_naive_deadline_is_read_as_utc() -> None:
    text, _ = _parts(compose(approval_mail(deadline=datetime(2030, 3, 14, 17, 0)), SENDER))
    assert "17:00 UTC" in text


@pytest.mark.parametrize(
    "amount, shown",
    [
        (Decimal("12500"), "12,500.00"),
        (Decimal("0.5"), "0.50"),
        (Decimal("1234567.891"), "1,234,567.891"),
        (Decimal("10.123456"), "10.123456"),
        (Decimal("1E+3"), "1,000.00"),
    ],
)
def test_amounts_are_never_rounded(amount: Decimal, shown: str) -> None:
    assert format_amount(amount) == shown


def test_header_safe() -> None:
    assert header_safe(" a\r\nb\tc\x00d\u2028e ") == "a b c d e"
