"""The reconciler: every invoice left unfinished (a crashed worker, a payment not mined in time) is driven
to a final state from what PostgreSQL and the chain say.

It re-runs each invoice's thread. That is safe because every node is idempotent against the database:
a payment that exists is continued, never started again; a signed attempt is re-sent byte for byte
(same hash, same nonce); a mined one is read from its receipt. Runs on worker start, on a schedule,
and on demand (`treasurer payments reconcile`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select

from agents.runtime import Treasurer
from finance.chain.client import TRANSIENT
from finance.errors import TreasurerError
from finance.models import Invoice, InvoiceStatus, Payment, PaymentStatus, utcnow
from finance.payments.nonce_gaps import unblock_nonces

log = logging.getLogger("treasurer.reconciler")

_UNFINISHED_INVOICES = (InvoiceStatus.PROCESSING, InvoiceStatus.PAYING)
_IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.SUBMITTED)


@dataclass
class ReconcileReport:
    examined: int = 0
    outcomes: Counter = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)
    nonce_gaps_filled: list[int] = field(default_factory=list)


async def unfinished_invoices(treasurer: Treasurer, *, idle_seconds: float = 0) -> list[uuid.UUID]:
    async with treasurer.sessions() as session:
        rows = await session.scalars(
            select(Invoice.id)
            .outerjoin(Payment, Payment.invoice_id == Invoice.id)
            .where(
                or_(Invoice.status.in_(_UNFINISHED_INVOICES), Payment.status.in_(_IN_FLIGHT)),
                Invoice.updated_at <= utcnow() - timedelta(seconds=idle_seconds),
            )
            .order_by(Invoice.created_at)
        )
        return list(dict.fromkeys(rows))


async def reconcile(treasurer: Treasurer, *, concurrency: int = 4, idle_seconds: float = 0) -> ReconcileReport:
    """`idle_seconds`: leave alone invoices touched more recently than this, which a live worker or API
    request may still be processing. Racing it would be safe (every step is idempotent) but would
    write its decisions twice."""
    report = ReconcileReport()
    # Gaps first: a payment queued behind a missing nonce can never be mined, however long it waits.
    try:
        fills = await unblock_nonces(treasurer.sessions, treasurer.context.chain)
        report.nonce_gaps_filled = [fill.nonce for fill in fills]
    except (TreasurerError, *TRANSIENT) as exc:
        # No gas, node down: report it and still drive the invoices; the next run tries the gap again.
        log.warning("nonce gaps could not be filled: %s", exc)
        report.errors["nonce_gaps"] = str(exc)
    invoice_ids = await unfinished_invoices(treasurer, idle_seconds=idle_seconds)
    report.examined = len(invoice_ids)
    gate = asyncio.Semaphore(concurrency)

    async def drive(invoice_id: uuid.UUID) -> None:
        async with gate:
            try:
                result = await treasurer.process(invoice_id)
                report.outcomes[result.status.value] += 1
            except Exception as exc:  # one stuck invoice must not stop the others
                log.exception("reconciling invoice %s failed", invoice_id)
                report.errors[str(invoice_id)] = str(exc)

    await asyncio.gather(*(drive(i) for i in invoice_ids))
    if invoice_ids:
        log.info("reconciled %d invoices: %s", len(invoice_ids), dict(report.outcomes))
    return report
