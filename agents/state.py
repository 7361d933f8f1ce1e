"""The graph state: ids and small facts only. Everything else lives in the database, so a checkpoint
is tiny and a resumed thread reads the truth rather than a stale copy.
"""

from __future__ import annotations

from typing import TypedDict


class InvoiceState(TypedDict, total=False):
    invoice_id: str
    vendor_id: str | None
    amount_units: int | None
    dedupe_key: str | None
    action: str  # the policy's answer: allow | require_approval | block
    outcome: str | None  # paid | blocked | pending_approval | failed | in_flight | rejected | expired | cancelled
    reason: str
    payment_id: str | None
    tx_hash: str | None
    approval_request_id: str | None
    approval_status: str | None  # pending | approved | rejected | expired | cancelled
