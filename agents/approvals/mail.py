"""Sending one owed approval mail: read what it is about, sign its links, compose, send, mark it sent.

Idempotent per (request, recipient, kind): the row is taken with `FOR UPDATE SKIP LOCKED`, so two workers
holding the same queue entry never both send it, and a row already sent is never sent again. The
Message-ID is derived from the row, so even a mail re-sent after a crash between the SMTP hand-off and
the commit is recognisably the same message.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.approvals.votes import tally
from finance.models import (
    ApprovalNotification,
    ApprovalRequest,
    ApprovalStatus,
    Invoice,
    NotificationStatus,
    Vendor,
    as_utc,
    utcnow,
)
from finance.settings import Settings
from notifications.links import ApprovalLinks
from notifications.mail import ApprovalMail, compose
from notifications.transport import MailTransport, MailUndeliverable

log = logging.getLogger("treasurer.approvals.mail")

# Mails that ask for a vote carry links; the others only tell the submitter how it ended.
_ASKING = ("request", "reminder", "escalation")


class ApprovalMailer:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], transport: MailTransport, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.sender = settings.mail_from
        self.links = ApprovalLinks(settings.jwt_secret, settings.public_base_url)

    async def send(self, notification_id: uuid.UUID) -> str:
        """sent | skipped (already sent, or no longer relevant) | busy (another worker has it) | failed."""
        transient: Exception | None = None
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(ApprovalNotification)
                .where(ApprovalNotification.id == notification_id)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return "busy"
            if row.status != NotificationStatus.PENDING:
                return "skipped"
            request = await session.get(ApprovalRequest, row.request_id)
            if row.kind in _ASKING and request.status != ApprovalStatus.PENDING:
                # Asking someone to vote on a closed request would only produce a link that refuses them.
                row.status = NotificationStatus.SKIPPED
                row.last_error = f"request already {request.status}"
                return "skipped"
            message = compose(await self._mail(session, row, request), self.sender)
            row.attempts += 1
            try:
                await self.transport.send(message)
            except MailUndeliverable as exc:
                row.status = NotificationStatus.FAILED
                row.last_error = exc.message
                log.warning("approval mail %s to %s refused for good: %s", row.id, row.recipient, exc.message)
                return "failed"
            except Exception as exc:  # recorded, then raised after the commit keeps the count
                row.last_error = f"{type(exc).__name__}: {exc}"
                transient = exc
            else:
                row.status = NotificationStatus.SENT
                row.sent_at = utcnow()
        if transient is not None:
            raise transient
        return "sent"

    async def _mail(self, session: AsyncSession, row: ApprovalNotification, request: ApprovalRequest) -> ApprovalMail:
        invoice = await session.get(Invoice, request.invoice_id)
        vendor = await session.get(Vendor, invoice.vendor_id) if invoice.vendor_id else None
        approvals, _ = await tally(session, request.id)
        deadline = as_utc(request.deadline)
        total = (invoice.fields or {}).get("total")
        approve_url = reject_url = None
        if row.kind in _ASKING:
            approve_url = self.links.url(self.links.issue(request.id, row.recipient, "approve", deadline))
            reject_url = self.links.url(self.links.issue(request.id, row.recipient, "reject", deadline))
        return ApprovalMail(
            kind=row.kind,
            recipient=row.recipient,
            message_id=f"<approval-{row.id}@treasurer>",
            request_id=request.id,
            invoice_id=invoice.id,
            invoice_number=invoice.invoice_number,
            vendor_name=vendor.name if vendor else invoice.vendor_name,
            amount=Decimal(total) if total is not None else None,
            currency=invoice.currency,
            submitted_by=invoice.submitted_by,
            reasons=tuple(request.reasons or ()),
            tier=request.tier,
            quorum=request.quorum,
            approvals=approvals,
            deadline=deadline,
            approve_url=approve_url,
            reject_url=reject_url,
            outcome_note=request.outcome_reason if row.kind not in _ASKING else None,
        )
