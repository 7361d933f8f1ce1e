"""Sample approval mails for the notification tests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from notifications.mail import ApprovalMail

SENDER = "Treasurer <treasurer@example.com>"
APPROVE_URL = "https://treasurer.example.com/approvals/link?token=approve.token.sig"
REJECT_URL = "https://treasurer.example.com/approvals/link?token=reject.token.sig"


def approval_mail(**overrides: Any) -> ApprovalMail:
    notification_id = uuid.uuid4()
    mail = ApprovalMail(
        kind="request",
        recipient="alice@example.com",
        message_id=f"<approval-{notification_id}@treasurer>",
        request_id=uuid.uuid4(),
        invoice_id=uuid.uuid4(),
        invoice_number="INV-7",
        vendor_name="Globex",
        amount=Decimal("12500"),
        currency="USD",
        submitted_by="cfo@example.com",
        reasons=("12,500.00 USD is above the per-invoice limit of 5,000.00 USD",),
        tier="large",
        quorum=2,
        approvals=1,
        deadline=datetime(2030, 3, 14, 17, 0, tzinfo=UTC),
        approve_url=APPROVE_URL,
        reject_url=REJECT_URL,
    )
    return replace(mail, **overrides)
