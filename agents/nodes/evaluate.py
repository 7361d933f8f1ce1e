"""evaluate: apply the active policy version to the invoice's facts and a snapshot of the treasury.

The decision row carries the policy version, the facts and the snapshot exactly as evaluated, so
any past decision can be explained and replayed (`treasurer decisions explain`), and a draft policy
can be dry-run against what was really decided.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.policy_versions import ensure_active_policy
from agents.state import InvoiceState
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import Invoice, Vendor, as_utc
from finance.money import from_base_units
from finance.payments.repository import PaymentRepository
from finance.spend import spend_figures
from finance.vendor_changes import change_hold_reason, unverified_reason
from policies.evaluator import evaluate as evaluate_policy
from policies.schema import InvoiceFacts, TreasurySnapshot
from tools.treasury import treasury_runway

# The fields whose confidence decides whether the money part of an extraction can be trusted.
_MONEY_FIELDS = ("vendor", "total", "currency")


async def evaluate(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    ctx = runtime.context
    invoice_id = uuid.UUID(state["invoice_id"])
    async with ctx.sessions() as session:
        earlier = await DecisionLog(session).latest(invoice_id, "evaluate")
    if earlier is not None:
        # Decided before a crash or resume: never re-decide on a balance that has since moved.
        return {"action": earlier.outcome, "reason": earlier.reason}

    policy = await ensure_active_policy(ctx.sessions, ctx.settings)
    runway = await treasury_runway(ctx.sessions, ctx.chain, ctx.token, ctx.settings)
    async with ctx.sessions.begin() as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        vendor = await session.get(Vendor, invoice.vendor_id) if invoice.vendor_id else None
        facts = await _facts(session, invoice, vendor)
        spend = await spend_figures(session, vendor_id=invoice.vendor_id, category=vendor.category if vendor else None)

        def money(units: int) -> Decimal:
            return from_base_units(units, ctx.token.decimals)

        snapshot = TreasurySnapshot(
            balance=money(runway.balance_units),
            reserved=money(runway.reserved_units),
            monthly_burn=money(runway.monthly_burn_units),
            vendor_spend={w: money(u) for w, u in spend.vendor_window_units.items()},
            global_spend={w: money(u) for w, u in spend.global_window_units.items()},
            vendor_month_to_date=money(spend.vendor_month_to_date_units),
            category_month_to_date=money(spend.category_month_to_date_units),
            as_of=runway.as_of,
        )
        decision = evaluate_policy(policy.document, policy.version, facts, snapshot)
        await DecisionLog(session).append(
            invoice_id=invoice_id,
            step="evaluate",
            outcome=decision.action.value,
            reason=decision.summary,
            details={
                "policy_version": decision.policy_version,
                "tier": decision.tier.model_dump(mode="json") if decision.tier else None,
                "reasons": [r.model_dump() for r in decision.reasons],
                "facts": facts.model_dump(mode="json"),
                "snapshot": snapshot.model_dump(mode="json"),
            },
        )
    return {"action": decision.action.value, "reason": decision.summary}


def _document_kind(flags: list[str] | tuple[str, ...]) -> str | None:
    # The consistency checks name a document's kind in a flag: "document_kind:credit_note: the document calls ..."
    kinds = [flag.split(":", 2)[1] for flag in flags if flag.startswith("document_kind:")]
    return "credit_note" if "credit_note" in kinds else (kinds[0] if kinds else None)


async def _facts(session, invoice: Invoice, vendor: Vendor | None) -> InvoiceFacts:
    fields = invoice.fields or {}
    checks = fields.get("checks") or {}
    evidence = fields.get("evidence") or {}
    confidences = [evidence[f]["confidence"] for f in _MONEY_FIELDS if f in evidence]
    return InvoiceFacts(
        amount=Decimal(fields["total"]) if fields.get("total") is not None else None,
        currency=fields.get("currency"),
        vendor_registered=vendor is not None and vendor.active,
        vendor_id=str(vendor.id) if vendor else None,
        vendor_category=vendor.category if vendor else None,
        vendor_on_hold=await change_hold_reason(session, vendor) if vendor else None,
        vendor_unverified=unverified_reason(vendor) if vendor else None,
        payee_first_payment=vendor is not None
        and not await PaymentRepository(session).has_paid(vendor.id, vendor.payout_address),
        payee_since=as_utc(vendor.payee_since) if vendor and vendor.payee_since else None,
        payee_vouched_by=tuple(vendor.payee_vouched_by or ()) if vendor else (),
        submitted_by_user_id=str(invoice.submitted_by_user_id) if invoice.submitted_by_user_id else None,
        document_kind=_document_kind(checks.get("flags") or ()),
        invoice_number=fields.get("invoice_number"),
        duplicate_of=checks.get("duplicate_of"),
        possible_duplicate_of=checks.get("possible_duplicate_of"),
        possible_duplicate_why=checks.get("possible_duplicate_why"),
        payee_change=checks.get("payee_change"),
        extraction_flags=tuple(checks.get("flags") or ()),
        extraction_confidence=min(confidences) if confidences else None,
        submitted_by=invoice.submitted_by,
    )
