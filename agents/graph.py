"""The treasurer graph, one thread per invoice:

extract -> evaluate -> (allow) pay [reserve -> sign -> broadcast -> confirm] -> record
                    -> (require_approval) request_approval <-> await_approval (interrupt)
                                          -> (approved) pay -> record
                                          -> (rejected | expired | cancelled) record
                    -> (block) record
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import TreasurerContext
from agents.nodes.approval import after_request, await_approval, request_approval
from agents.nodes.evaluate import evaluate
from agents.nodes.extract import extract
from agents.nodes.record import record
from agents.payment_saga import build_payment_saga
from agents.state import InvoiceState


def _after_evaluate(state: InvoiceState) -> str:
    # Only an explicit allow reaches the payment directly; approval goes through people; anything else
    # (or anything unexpected) is recorded unpaid.
    action = state.get("action")
    if action == "allow":
        return "pay"
    return "request_approval" if action == "require_approval" else "record"


def build_treasurer_graph() -> StateGraph:
    graph = StateGraph(InvoiceState, context_schema=TreasurerContext)
    graph.add_node("extract", extract)
    graph.add_node("evaluate", evaluate)
    # The SAGA runs as a subgraph: its steps are nodes of their own, visible in traces and checkpoints.
    graph.add_node("pay", build_payment_saga().compile())
    graph.add_node("request_approval", request_approval)
    graph.add_node("await_approval", await_approval)
    graph.add_node("record", record)
    graph.add_edge(START, "extract")
    graph.add_edge("extract", "evaluate")
    graph.add_conditional_edges(
        "evaluate", _after_evaluate, {"pay": "pay", "request_approval": "request_approval", "record": "record"}
    )
    graph.add_conditional_edges(
        "request_approval",
        after_request,
        {"await_approval": "await_approval", "pay": "pay", "record": "record"},
    )
    # Back through request_approval: the database, not the resume value, says whether to pay.
    graph.add_edge("await_approval", "request_approval")
    graph.add_edge("pay", "record")
    graph.add_edge("record", END)
    return graph
