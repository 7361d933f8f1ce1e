"""record: close the invoice with its outcome and write the final decision."""

from __future__ import annotations

import uuid

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.state import InvoiceState
from finance.approvals.lifecycle import mark_closed
from finance.claims import release_claims
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import InvoiceStatus, utcnow

_ACTION_OUTCOME = {"block": "blocked", "require_approval": "pending_approval"}
_STATUS = {
    "paid": InvoiceStatus.PAID,
    "blocked": InvoiceStatus.BLOCKED,
    "pending_approval": InvoiceStatus.PENDING_APPROVAL,
    "failed": InvoiceStatus.FAILED,
    "in_flight": InvoiceStatus.PAYING,
    "rejected": InvoiceStatus.REJECTED,
    "expired": InvoiceStatus.EXPIRED,
    "cancelled": InvoiceStatus.CANCELLED,
}
# Nothing was paid: a corrected resubmission of this bill must not look like a duplicate.
_UNPAID_ENDS = ("blocked", "failed", "rejected", "expired", "cancelled")


async def record(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    outcome = state.get("outcome") or _ACTION_OUTCOME[state["action"]]
    reason = state.get("reason") or ""
    invoice_id = uuid.UUID(state["invoice_id"])
    async with runtime.context.sessions.begin() as session:
        if state.get("approval_request_id"):
            # First, before the decision log's lock: votes take the request row, then that lock, and the
            # same order here means the two can never deadlock.
            await mark_closed(session, invoice_id, utcnow())
        invoice = await InvoiceRepository(session).get(invoice_id)
        log = DecisionLog(session)
        last = await log.latest(invoice_id, "record")
        if last is None or last.outcome != outcome:
            await log.append(
                invoice_id=invoice_id,
                step="record",
                outcome=outcome,
                reason=reason,
                details={"payment_id": state.get("payment_id"), "tx_hash": state.get("tx_hash")},
            )
            InvoiceRepository.set_status(invoice, _STATUS[outcome], reason)
            if outcome in _UNPAID_ENDS:
                await release_claims(session, invoice_id)
    return {"outcome": outcome, "reason": reason}
