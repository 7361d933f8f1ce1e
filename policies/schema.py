"""The policy engine's public types in one place; each lives in a small module of its own:

- `policies.actions`: Action and which is stricter
- `policies.money`: Money and Limit (Decimal amounts, never float) and MAX_AMOUNT
- `policies.rules`: the rule kinds (one model each, discriminated on `kind`)
- `policies.document`: PolicyDocument, ApproverGroup, ApprovalTier, and their validation
- `policies.facts`: InvoiceFacts and TreasurySnapshot, what a policy is evaluated on
- `policies.decision`: Decision and Reason, what the evaluator returns

Pure data: no I/O, nothing of ours imported beyond this package.
"""

from __future__ import annotations

from policies.actions import SEVERITY, Action, strictest
from policies.decision import Decision, Reason
from policies.document import SCHEMA_VERSION, ApprovalTier, ApproverGroup, PolicyDocument, describe_errors
from policies.facts import InvoiceFacts, TreasurySnapshot
from policies.money import MAX_AMOUNT, Limit, Money, NonNegative
from policies.rules import (
    BUILTIN_PREFIX,
    WINDOW_DAYS,
    AllowRule,
    AmountLimitRule,
    BudgetRule,
    CurrencyRule,
    DuplicateRule,
    ExtractionRule,
    FundsRule,
    NewPayeeRule,
    PayeeChangeRule,
    Rule,
    RunwayFloorRule,
    SeparationOfDutiesRule,
    UnknownVendorRule,
    VelocityRule,
    Window,
)

__all__ = [
    "BUILTIN_PREFIX",
    "MAX_AMOUNT",
    "SCHEMA_VERSION",
    "SEVERITY",
    "WINDOW_DAYS",
    "Action",
    "AllowRule",
    "AmountLimitRule",
    "ApprovalTier",
    "ApproverGroup",
    "BudgetRule",
    "CurrencyRule",
    "Decision",
    "DuplicateRule",
    "ExtractionRule",
    "FundsRule",
    "InvoiceFacts",
    "Limit",
    "Money",
    "NewPayeeRule",
    "NonNegative",
    "PayeeChangeRule",
    "PolicyDocument",
    "Reason",
    "Rule",
    "RunwayFloorRule",
    "SeparationOfDutiesRule",
    "TreasurySnapshot",
    "UnknownVendorRule",
    "VelocityRule",
    "Window",
    "describe_errors",
    "strictest",
]
