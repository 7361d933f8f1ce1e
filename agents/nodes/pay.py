"""pay: run the payment steps through the payment tools. Each tool is idempotent by payment id,
so a re-run of this node continues the same payment instead of starting a second one.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.state import InvoiceState
from finance.errors import TreasurerError

_FINAL = {"confirmed": "paid", "failed": "failed"}


async def pay(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    tools = runtime.context.payment_tools
    try:
        reserved = await tools.reserve.ainvoke(
            {
                "invoice_id": state["invoice_id"],
                "vendor_id": state["vendor_id"],
                "amount_units": state["amount_units"],
                "dedupe_key": state["dedupe_key"],
            }
        )
    except TreasurerError as exc:
        # Refused before anything was signed (a duplicate that won a race, a deactivated vendor).
        return {"outcome": "blocked", "reason": exc.message, "payment_id": None, "tx_hash": None}

    ref = {"payment_id": reserved["payment_id"]}
    result = await tools.sign.ainvoke(ref)
    if result["status"] == "submitted":
        result = await tools.broadcast.ainvoke(ref)
    if result["status"] == "submitted":
        result = await tools.confirm.ainvoke(ref)
    return {
        "payment_id": result["payment_id"],
        "tx_hash": result["tx_hash"],
        "outcome": _FINAL.get(result["status"], "in_flight"),
        "reason": result["reason"] or ("paid" if result["status"] == "confirmed" else "awaiting confirmation"),
    }
