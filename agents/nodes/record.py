"""record: close the invoice with its outcome and write the final decision."""

from __future__ import annotations

import uuid

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.state import InvoiceState
from finance.claims import release_claims
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import InvoiceStatus

_ACTION_OUTCOME = {"block": "blocked", "require_approval": "pending_approval"}
_STATUS = {
    "paid": InvoiceStatus.PAID,
    "blocked": InvoiceStatus.BLOCKED,
    "pending_approval": InvoiceStatus.PENDING_APPROVAL,
    "failed": InvoiceStatus.FAILED,
    "in_flight": InvoiceStatus.PAYING,
}


async def record(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    outcome = state.get("outcome") or _ACTION_OUTCOME[state["action"]]
    reason = state.get("reason") or ""
    invoice_id = uuid.UUID(state["invoice_id"])
    async with runtime.context.sessions.begin() as session:
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
            if outcome in ("blocked", "failed"):
                # Nothing was paid: a corrected resubmission of this bill must not look like a duplicate.
                await release_claims(session, invoice_id)
    return {"outcome": outcome, "reason": reason}
