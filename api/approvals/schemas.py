"""Bodies of the approvals API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from api.approvals.service import ApprovalView


class VoteIn(BaseModel):
    comment: str | None = Field(default=None, max_length=2000, examples=["Checked against the signed contract."])


class CancelIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, examples=["Submitted twice by mistake."])


class VoteOut(BaseModel):
    approver: str
    decision: str
    comment: str | None
    channel: str
    created_at: datetime


class ApprovalOut(BaseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    status: str
    invoice_number: str | None
    vendor: str | None
    amount: Decimal | None
    currency: str | None
    submitted_by: str | None
    reasons: list[str]
    tier: str
    group: str
    quorum: int
    approvals: int
    rejections: int
    approvers: list[str]
    deadline: datetime
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    outcome_reason: str | None
    votes: list[VoteOut]

    @classmethod
    def of(cls, view: ApprovalView) -> ApprovalOut:
        r = view.request
        return cls(
            id=r.id,
            invoice_id=r.invoice_id,
            status=r.status,
            invoice_number=view.invoice.invoice_number,
            vendor=view.vendor_name,
            amount=view.amount,
            currency=view.invoice.currency,
            submitted_by=r.submitted_by,
            reasons=list(r.reasons or ()),
            tier=r.tier,
            group=r.approver_group,
            quorum=r.quorum,
            approvals=view.approvals,
            rejections=view.rejections,
            approvers=list(r.approvers or ()),
            deadline=view.deadline,
            created_at=r.created_at,
            decided_at=r.decided_at,
            decided_by=r.decided_by,
            outcome_reason=r.outcome_reason,
            votes=[VoteOut.model_validate(v, from_attributes=True) for v in view.votes],
        )
