"""The payment SAGA as a LangGraph subgraph: one node per step, each step one payment tool.

    reserve -> sign -> broadcast -> confirm
       |        |          |           |
       +--------+----------+-----------+--> (blocked | failed | in flight) end

Compensation lives in the steps themselves: a step that finds the payment impossible (refused by the
token's simulation, by the node, reverted on chain, no matching Transfer) marks it failed, which
releases the reservation and records the decision. Every step is idempotent by payment id, because a
node re-runs after a crash or a resume.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents.context import TreasurerContext
from agents.state import InvoiceState
from finance.chain.client import TRANSIENT
from finance.errors import TreasurerError

_FINAL = {"confirmed": "paid", "failed": "failed"}


async def reserve(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
    try:
        reserved = await runtime.context.payment_tools.reserve.ainvoke(
            {
                "invoice_id": state["invoice_id"],
                "vendor_id": state["vendor_id"],
                "amount_units": state["amount_units"],
                "dedupe_key": state["dedupe_key"],
            }
        )
    except TreasurerError as exc:
        # Refused before anything was signed: a duplicate that won a race, a vendor deactivated or held.
        return {"outcome": "blocked", "reason": exc.message, "payment_id": None, "tx_hash": None}
    return {"payment_id": reserved["payment_id"], "outcome": None}


def _step(tool_name: str):
    async def step(state: InvoiceState, runtime: Runtime[TreasurerContext]) -> InvoiceState:
        tool = getattr(runtime.context.payment_tools, tool_name)
        try:
            result = await tool.ainvoke({"payment_id": state["payment_id"]})
        except TRANSIENT as exc:
            # The node is unreachable even after the retries. The payment is not failed: what is stored
            # (intent, signed bytes) is resent as-is by the reconciler, never signed a second time.
            return {"outcome": "in_flight", "reason": f"the chain is unreachable ({type(exc).__name__}); will retry"}
        status = result["status"]
        return {
            "tx_hash": result["tx_hash"],
            # "submitted" after confirm means sent but not mined in time: in flight, still reserved.
            "outcome": _FINAL.get(status) or ("in_flight" if tool_name == "confirm" else None),
            "reason": result["reason"] or ("paid" if status == "confirmed" else "awaiting confirmation"),
        }

    step.__name__ = tool_name
    return step


def _continue_unless_finished(next_step: str):
    def route(state: InvoiceState) -> str:
        return END if state.get("outcome") else next_step

    return route


def build_payment_saga() -> StateGraph:
    saga = StateGraph(InvoiceState, context_schema=TreasurerContext)
    saga.add_node("reserve", reserve)
    for name in ("sign", "broadcast", "confirm"):
        saga.add_node(name, _step(name))
    saga.add_edge(START, "reserve")
    saga.add_conditional_edges("reserve", _continue_unless_finished("sign"), ["sign", END])
    saga.add_conditional_edges("sign", _continue_unless_finished("broadcast"), ["broadcast", END])
    saga.add_conditional_edges("broadcast", _continue_unless_finished("confirm"), ["confirm", END])
    saga.add_edge("confirm", END)
    return saga
