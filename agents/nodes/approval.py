"""request_approval and await_approval: the invoice waits for people.

    evaluate -> request_approval -(pending)-> await_approval -> request_approval -(approved)-> pay
                                 -(rejected | expired | cancelled | impossible)-> record

`request_approval` opens the request once (idempotent per invoice) and otherwise only reads its status
from PostgreSQL, which is the truth. `await_approval` holds nothing but `interrupt()`: LangGraph re-runs
an interrupted node from its start on resume, so any work in it would be done twice. After a resume the
thread goes back through `request_approval`, so a stale or spurious resume value cannot pay anything;
only an approved request in the database leads to the payment.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.context import TreasurerContext
from agents.policy_versions import load_policy_version
from agents.state import InvoiceState
from finance.approvals.errors import ApprovalImpossible
from finance.approvals.requests import ApprovalPlan, open_request
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import ApprovalStatus, InvoiceStatus, utcnow
from policies.document import ApprovalTier, PolicyDocument


async def request_approval(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    ctx = runtime.context
    invoice_id = uuid.UUID(state["invoice_id"])
    settings = ctx.settings
    async with ctx.sessions.begin() as session:
        log = DecisionLog(session)
        earlier = await log.latest(invoice_id, "approval")
        if earlier is not None and earlier.outcome == "impossible":
            return {"outcome": "blocked", "reason": earlier.reason}
        invoice = await InvoiceRepository(session).get(invoice_id)
        evaluation = await log.latest(invoice_id, "evaluate")
        details = evaluation.details
        policy = await load_policy_version(session, details["policy_version"])
        tier = ApprovalTier.model_validate(details["tier"]) if details.get("tier") else None
        try:
            opened = await open_request(
                session,
                invoice=invoice,
                plan=_plan(policy.document, tier),
                policy_version=policy.version,
                reasons=[r["message"] for r in details.get("reasons", [])],
                now=utcnow(),
                ttl=timedelta(hours=settings.approval_ttl_hours),
                remind_before=timedelta(hours=settings.approval_reminder_before_hours),
                payee_vouched_by=tuple((details.get("facts") or {}).get("payee_vouched_by") or ()),
            )
        except ApprovalImpossible as exc:
            # Fail closed: an approval nobody can give is a block, said plainly, not an endless wait.
            await log.append(invoice_id=invoice_id, step="approval", outcome="impossible", reason=exc.message)
            return {"outcome": "blocked", "reason": exc.message}
        request = opened.request
        if opened.created:
            InvoiceRepository.set_status(invoice, InvoiceStatus.PENDING_APPROVAL, evaluation.reason)
    # After the commit: the mails and the timer point at rows that now exist. Were this lost (a crash right
    # here), the rows still say what is owed, and the queue is rebuilt from them.
    if opened.created:
        await ctx.approvals.opened(request.id)
    status = ApprovalStatus(request.status)
    # `outcome` is reset: the state outlives a run, and an earlier run's outcome must not end this one.
    update: InvoiceState = {"approval_request_id": str(request.id), "approval_status": status.value, "outcome": None}
    if status in (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED, ApprovalStatus.CANCELLED):
        update |= {"outcome": status.value, "reason": request.outcome_reason or status.value}
    elif status == ApprovalStatus.PENDING:
        update |= {"reason": evaluation.reason}
    return update


def _plan(policy: PolicyDocument, tier: ApprovalTier | None) -> ApprovalPlan | None:
    if tier is None:
        return None
    return ApprovalPlan(
        tier=tier.id,
        group=tier.group,
        members=tuple(policy.groups[tier.group].members),
        quorum=tier.quorum,
        rejections_to_close=tier.rejections_to_close,
        escalation_group=tier.escalation_group,
        initiator_may_approve=tier.initiator_may_approve,
    )


async def await_approval(state: InvoiceState) -> InvoiceState:
    answer = interrupt({"approval_request_id": state.get("approval_request_id"), "invoice_id": state["invoice_id"]})
    return {"approval_status": answer.get("status") if isinstance(answer, dict) else None}


def after_request(state: InvoiceState) -> str:
    if state.get("outcome"):
        return "record"
    status = state.get("approval_status")
    if status == ApprovalStatus.APPROVED:
        return "pay"
    if status == ApprovalStatus.PENDING:
        return "await_approval"
    return "record"  # anything unexpected ends the thread unpaid
