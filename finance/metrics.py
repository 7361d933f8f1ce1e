"""Process metrics, on a registry of our own so finance/, agents/ and tools/ can count events without importing
the API, and so tests that build many apps never register the same metric twice.

Only events that exist nowhere else are counted here (HTTP requests, LLM calls, RPC errors). How many invoices
and payments are in each state is read from PostgreSQL at scrape time instead (see api.middleware.metrics): those
numbers survive restarts and agree on every replica, which per-process counters would not.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# process_start_time_seconds, resident memory, open fds: the usual process health, on our registry.
ProcessCollector(registry=REGISTRY)

HTTP_REQUEST_DURATION = Histogram(
    "treasurer_http_request_duration_seconds",
    "HTTP request latency, by method, route template and status class.",
    ["method", "route", "status"],
    # Reads answer in milliseconds; process-invoice waits on the chain and the LLM for seconds.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
LLM_CALLS = Counter("treasurer_llm_calls", "Calls to the LLM extractor.", ["outcome"], registry=REGISTRY)
LLM_TOKENS = Counter("treasurer_llm_tokens", "Tokens used by LLM calls (prompt + completion).", registry=REGISTRY)
CHAIN_RPC_ERRORS = Counter(
    "treasurer_chain_rpc_errors", "JSON-RPC calls to the chain node that failed.", ["method"], registry=REGISTRY
)


def record_llm_call(tokens: int = 0, *, ok: bool = True) -> None:
    LLM_CALLS.labels(outcome="ok" if ok else "error").inc()
    if tokens > 0:
        LLM_TOKENS.inc(tokens)


def record_rpc_error(method: str) -> None:
    # Method names come from our own code (eth_sendRawTransaction, ...), a bounded set: safe as a label.
    CHAIN_RPC_ERRORS.labels(method=method).inc()


def http_totals() -> tuple[int, int]:
    """(requests, 5xx responses) served by this process, read back from the latency histogram's counts."""
    requests = errors = 0
    for metric in HTTP_REQUEST_DURATION.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                requests += int(sample.value)
                if sample.labels.get("status") == "5xx":
                    errors += int(sample.value)
    return requests, errors
