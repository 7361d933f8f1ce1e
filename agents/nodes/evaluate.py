"""evaluate: apply the policy to the extracted facts and the treasury's spendable balance.
Writes the `evaluate` decision before anything acts on it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.state import InvoiceState
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from policies.evaluator import evaluate as evaluate_policy
from policies.schema import InvoiceFacts, TreasurySnapshot
from tools.treasury import spendable_decimal, treasury_balance


async def evaluate(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    ctx = runtime.context
    invoice_id = uuid.UUID(state["invoice_id"])
    async with ctx.sessions() as session:
        earlier = await DecisionLog(session).latest(invoice_id, "evaluate")
    if earlier is not None:
        # Decided before a crash or resume: never re-decide on a balance that has since moved.
        return {"action": earlier.outcome, "reason": earlier.reason}

    balance = await treasury_balance(ctx.sessions, ctx.chain, ctx.token)
    async with ctx.sessions.begin() as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        fields = invoice.fields or {}
        checks = fields.get("checks") or {}
        facts = InvoiceFacts(
            amount=Decimal(fields["total"]) if fields.get("total") is not None else None,
            currency=fields.get("currency"),
            vendor_registered=invoice.vendor_id is not None,
            invoice_number=fields.get("invoice_number"),
            duplicate_of=checks.get("duplicate_of"),
            possible_duplicate_of=checks.get("possible_duplicate_of"),
            payee_change=checks.get("payee_change"),
            extraction_flags=tuple(checks.get("flags") or ()),
        )
        decision = evaluate_policy(ctx.policy, facts, TreasurySnapshot(spendable=spendable_decimal(balance, ctx.token)))
        await DecisionLog(session).append(
            invoice_id=invoice_id,
            step="evaluate",
            outcome=decision.action.value,
            reason=decision.summary,
            details={
                "policy_version": decision.policy_version,
                "reasons": [r.model_dump() for r in decision.reasons],
                "facts": facts.model_dump(mode="json"),
                "spendable_units": str(balance.spendable_units),
            },
        )
    return {"action": decision.action.value, "reason": decision.summary}
