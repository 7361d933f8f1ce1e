"""Approval e-mails, composed from templates into one multipart/alternative message (plain text and HTML).

Vendor names, invoice numbers and the submitter come from invoice text, so they are untrusted: the HTML
templates autoescape, every such value is flattened to one short line (a forged "Approve: http://..." line
in a vendor name must not look like one of ours), and anything bound for a header is stripped of CR/LF.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from finance.models import as_utc

MailKind = Literal["request", "reminder", "escalation", "expired", "rejected", "cancelled"]

# Mails asking an approver to decide, and mails telling the submitter how a request ended.
_ASKING: frozenset[str] = frozenset({"request", "reminder", "escalation"})
_SUBJECT_PREFIX: dict[str, str] = {
    "request": "Approval needed",
    "reminder": "Reminder",
    "escalation": "Escalated",
    "expired": "Expired",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_FIELD_LIMIT = 120
_SUBJECT_VENDOR_LIMIT = 60

_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    # Only .html autoescapes; the .txt part is plain text, where escaping would show "&amp;" to the reader.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ApprovalMail:
    kind: MailKind
    recipient: str
    message_id: str
    request_id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str | None
    vendor_name: str | None
    amount: Decimal | None
    currency: str | None
    submitted_by: str | None
    reasons: tuple[str, ...]
    tier: str | None
    quorum: int
    approvals: int
    deadline: datetime
    approve_url: str | None = None
    reject_url: str | None = None
    outcome_note: str | None = None


def compose(mail: ApprovalMail, sender: str) -> EmailMessage:
    if mail.kind not in _SUBJECT_PREFIX:
        raise ValueError(f"unknown mail kind {mail.kind!r}")
    asking = mail.kind in _ASKING
    if asking:
        for url in (mail.approve_url, mail.reject_url):
            # Our own links only: a mail asking for a decision without both of them is useless to the reader.
            if not url or not url.startswith(("https://", "http://")):
                raise ValueError(f"a {mail.kind} mail needs http(s) approve and reject links")
    context = _context(mail)
    family = "approval_request" if asking else "approval_outcome"
    message = EmailMessage()
    message["Subject"] = header_safe(context["subject"])
    message["From"] = header_safe(sender)
    message["To"] = Address(addr_spec=header_safe(mail.recipient))
    message["Message-ID"] = header_safe(mail.message_id)
    message["Date"] = format_datetime(datetime.now(UTC))
    # RFC 3834: out-of-office robots must not answer, and their answers must not look like decisions.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Treasurer-Request"] = str(mail.request_id)
    message.set_content(_templates.get_template(f"{family}.txt").render(context))
    message.add_alternative(_templates.get_template(f"{family}.html").render(context), subtype="html")
    return message


def header_safe(value: str) -> str:
    """One line: CR, LF and other control characters become spaces, so no value can start a new header."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def format_amount(amount: Decimal) -> str:
    """Thousands separators and at least two decimals, but never rounded: the mail shows what will be paid."""
    if not amount.is_finite():
        return str(amount)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{amount.normalize():,f}"
    return f"{amount:,.2f}"


def _one_line(value: str | None, limit: int = _FIELD_LIMIT) -> str | None:
    if value is None:
        return None
    flat = header_safe(value)
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat or None


def _summary(vendor: str | None, number: str | None, amount: str | None, currency: str | None) -> str:
    parts = [f"{vendor} invoice" if vendor else "Invoice from an unknown vendor"]
    if number:
        parts.append(number)
    if amount:
        parts.append(f"for {amount} {currency}" if currency else f"for {amount}")
    return " ".join(parts)


def _deadline(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).strftime("%A %d %B %Y, %H:%M UTC")


def _context(mail: ApprovalMail) -> dict[str, Any]:
    vendor = _one_line(mail.vendor_name)
    number = _one_line(mail.invoice_number, 60)
    currency = _one_line(mail.currency, 10)
    amount = format_amount(mail.amount) if mail.amount is not None else None
    summary = _summary(vendor, number, amount, currency)
    subject_vendor = _one_line(mail.vendor_name, _SUBJECT_VENDOR_LIMIT)
    return {
        "kind": mail.kind,
        "subject": f"{_SUBJECT_PREFIX[mail.kind]}: {_summary(subject_vendor, number, amount, currency)}",
        "summary": summary,
        "vendor": vendor,
        "invoice_number": number,
        "invoice_id": str(mail.invoice_id),
        "request_id": str(mail.request_id),
        "amount": amount,
        "currency": currency,
        "submitted_by": _one_line(mail.submitted_by),
        "reasons": [line for line in (_one_line(reason, 500) for reason in mail.reasons) if line],
        "tier": _one_line(mail.tier, 60),
        "quorum": mail.quorum,
        "approvals": mail.approvals,
        # "1 more needed" is a call to act: right in a mail asking for a decision, wrong in one closing the request.
        "missing": max(mail.quorum - mail.approvals, 0) if mail.kind in _ASKING else 0,
        "deadline": _deadline(mail.deadline),
        "approve_url": mail.approve_url,
        "reject_url": mail.reject_url,
        "outcome_note": _one_line(mail.outcome_note, 500),
    }
