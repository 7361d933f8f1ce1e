"""The treasurer graph, one thread per invoice:

    extract -> evaluate -> (allow) pay [reserve -> sign -> broadcast -> confirm] -> record
                        -> (require_approval | block) record

The approval wait (an `interrupt()` node) extends this graph in place.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import TreasurerContext
from agents.nodes.evaluate import evaluate
from agents.nodes.extract import extract
from agents.nodes.record import record
from agents.payment_saga import build_payment_saga
from agents.state import InvoiceState


def _after_evaluate(state: InvoiceState) -> str:
    # Only an explicit allow reaches the payment; anything else (or anything unexpected) does not.
    return "pay" if state.get("action") == "allow" else "record"


def build_treasurer_graph() -> StateGraph:
    graph = StateGraph(InvoiceState, context_schema=TreasurerContext)
    graph.add_node("extract", extract)
    graph.add_node("evaluate", evaluate)
    # The SAGA runs as a subgraph: its steps are nodes of their own, visible in traces and checkpoints.
    graph.add_node("pay", build_payment_saga().compile())
    graph.add_node("record", record)
    graph.add_edge(START, "extract")
    graph.add_edge("extract", "evaluate")
    graph.add_conditional_edges("evaluate", _after_evaluate, {"pay": "pay", "record": "record"})
    graph.add_edge("pay", "record")
    graph.add_edge("record", END)
    return graph
