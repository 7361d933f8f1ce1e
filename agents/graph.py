"""The treasurer graph, one thread per invoice:

    extract -> evaluate -> (allow) pay -> record
                        -> (require_approval | block) record

Approval waits (an `interrupt()` node) and the payment SAGA subgraph extend this graph in place.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.context import TreasurerContext
from agents.nodes.evaluate import evaluate
from agents.nodes.extract import extract
from agents.nodes.pay import pay
from agents.nodes.record import record
from agents.state import InvoiceState


def _after_evaluate(state: InvoiceState) -> str:
    # Only an explicit allow reaches the payment; anything else (or anything unexpected) does not.
    return "pay" if state.get("action") == "allow" else "record"


def build_treasurer_graph() -> StateGraph:
    graph = StateGraph(InvoiceState, context_schema=TreasurerContext)
    graph.add_node("extract", extract)
    graph.add_node("evaluate", evaluate)
    graph.add_node("pay", pay)
    graph.add_node("record", record)
    graph.add_edge(START, "extract")
    graph.add_edge("extract", "evaluate")
    graph.add_conditional_edges("evaluate", _after_evaluate, {"pay": "pay", "record": "record"})
    graph.add_edge("pay", "record")
    graph.add_edge("record", END)
    return graph
