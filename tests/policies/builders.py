"""Small builders for policy tests: every fact has a harmless default, each test overrides what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from policies.actions import Action
from policies.document import ApprovalTier, ApproverGroup, PolicyDocument
from policies.facts import InvoiceFacts, TreasurySnapshot

AS_OF = datetime(2026, 3, 17, 9, 30, tzinfo=UTC)
D = Decimal


def facts(**overrides: Any) -> InvoiceFacts:
    base: dict[str, Any] = {
        "amount": D("100"),
        "currency": "USD",
        "vendor_registered": True,
        "vendor_id": "acme",
        "vendor_category": "saas",
        "invoice_number": "A-1",
    }
    return InvoiceFacts(**{**base, **overrides})


def spend(day: str | int = 0, week: str | int = 0, month: str | int = 0) -> dict[str, Decimal]:
    return {"day": D(day), "week": D(week), "month": D(month)}


def snapshot(**overrides: Any) -> TreasurySnapshot:
    base: dict[str, Any] = {
        "balance": D("1000000"),
        "reserved": D("0"),
        "monthly_burn": D("0"),
        "vendor_spend": spend(),
        "global_spend": spend(),
        "vendor_month_to_date": D("0"),
        "category_month_to_date": D("0"),
        "as_of": AS_OF,
    }
    return TreasurySnapshot(**{**base, **overrides})


FINANCE = {"finance": ApproverGroup(members=["a@example.com", "b@example.com", "c@example.com"])}
TIERS = [
    ApprovalTier(id="small", min_amount=D(0), max_amount=D(1000), group="finance", quorum=1),
    ApprovalTier(id="medium", min_amount=D(1000), max_amount=D(10000), group="finance", quorum=2),
    ApprovalTier(id="large", min_amount=D(10000), group="finance", quorum=3),
]


def document(*rules: Any, default_action: Action = Action.REQUIRE_APPROVAL, tiers: bool = False) -> PolicyDocument:
    return PolicyDocument(
        currency="USD",
        rules=list(rules),
        groups=FINANCE if tiers else {},
        tiers=TIERS if tiers else [],
        default_action=default_action,
    )
