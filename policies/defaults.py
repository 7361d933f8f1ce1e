"""Ready-made policy documents: the starter a fresh installation runs on, and a realistic one for tests and
benchmarks. Both are plain documents; nothing here is special-cased by the evaluator."""

from __future__ import annotations

from decimal import Decimal

from policies.actions import Action
from policies.document import ApprovalTier, ApproverGroup, PolicyDocument
from policies.rules import (
    AllowRule,
    AmountLimitRule,
    BudgetRule,
    CurrencyRule,
    DuplicateRule,
    ExtractionRule,
    FundsRule,
    NewPayeeRule,
    PayeeChangeRule,
    RunwayFloorRule,
    SeparationOfDutiesRule,
    UnknownVendorRule,
    VelocityRule,
)

# Placeholders: an installation replaces them with its own approvers before relying on approvals.
STARTER_APPROVERS = ["cfo@example.com", "controller@example.com"]


def _checks(min_confidence: float) -> list:
    """The rules every sensible policy starts with, in the order a reader expects the reasons."""
    return [
        UnknownVendorRule(id="unknown-vendor", description="Only registered vendors are paid.", action=Action.BLOCK),
        CurrencyRule(id="currency", description="Only invoices in the stablecoin's currency are paid 1:1."),
        DuplicateRule(
            id="duplicate",
            description="A bill already claimed is never paid twice; a look-alike under another number is reviewed.",
        ),
        PayeeChangeRule(
            id="payee-change",
            description="Payout details that differ from the registry, or a pending address change, need a person.",
        ),
        NewPayeeRule(
            id="new-payee",
            description="The first payment to a new or changed payout address needs someone else's approval.",
        ),
        SeparationOfDutiesRule(
            id="separation-of-duties",
            description="Whoever set up or changed a payee does not submit its bills.",
        ),
        ExtractionRule(
            id="extraction",
            description="Values not found in the document, extractor failures or low confidence need a person.",
            min_confidence=min_confidence,
        ),
        FundsRule(id="funds", description="Never pay more than the spendable balance."),
    ]


def starter_policy(per_invoice_limit: Decimal, currency: str = "USD") -> PolicyDocument:
    """The spine's behaviour as an ordered document: the checks block or ask for a person; invoices up to
    `per_invoice_limit` are paid, larger ones need approval, and so does a payment that would leave less than a
    month of runway or take one vendor's spend over the limit within a rolling week."""
    limit = Decimal(per_invoice_limit)
    return PolicyDocument(
        currency=currency,
        rules=[
            *_checks(min_confidence=0.5),
            RunwayFloorRule(
                id="runway-floor",
                description="A payment that leaves less than a month of runway needs a person.",
                min_months=Decimal(1),
                action=Action.REQUIRE_APPROVAL,
            ),
            # Without it, a bill split into parts under the limit is paid part by part with no person involved.
            VelocityRule(
                id="velocity-vendor-week",
                description=f"More than {limit} {currency} to one vendor in a rolling week needs approval.",
                scope="vendor",
                window="week",
                max_amount=limit,
                action=Action.REQUIRE_APPROVAL,
            ),
            AmountLimitRule(
                id="per-invoice-limit",
                description=f"Invoices over {limit} {currency} need approval.",
                max_amount=limit,
                action=Action.REQUIRE_APPROVAL,
            ),
            AllowRule(id="within-limit", description=f"Invoices up to {limit} {currency} are paid.", max_amount=limit),
        ],
        groups={"finance": ApproverGroup(members=list(STARTER_APPROVERS), description="Finance approvers")},
        tiers=[
            ApprovalTier(id="standard", min_amount=Decimal(0), max_amount=limit, group="finance", quorum=1),
            ApprovalTier(id="over-limit", min_amount=limit, max_amount=10 * limit, group="finance", quorum=1),
            ApprovalTier(id="large", min_amount=10 * limit, max_amount=None, group="finance", quorum=2),
        ],
        default_action=Action.REQUIRE_APPROVAL,
    )


def realistic_policy() -> PolicyDocument:
    """A mid-sized company's policy: 23 rules (velocity per vendor and in total over day, week and month,
    category and vendor budgets, two runway floors, a hard ceiling, category allowances, one rule disabled),
    three approver groups and four tiers."""
    rules = [
        *_checks(min_confidence=0.8),
        RunwayFloorRule(
            id="runway-hard-floor",
            description="Never pay below one month of runway.",
            min_months=Decimal(1),
            action=Action.BLOCK,
        ),
        RunwayFloorRule(
            id="runway-review",
            description="Below six months of runway, every payment is reviewed.",
            min_months=Decimal(6),
            action=Action.REQUIRE_APPROVAL,
        ),
        AmountLimitRule(
            id="single-invoice-ceiling",
            description="Invoices over 250k go through the wire process, not the treasurer.",
            max_amount=Decimal(250_000),
            action=Action.BLOCK,
        ),
        AmountLimitRule(
            id="review-over-5k",
            description="Invoices over 5k need approval.",
            max_amount=Decimal(5_000),
        ),
    ]
    for scope, limits in (("vendor", (10_000, 25_000, 50_000)), ("global", (60_000, 200_000, 500_000))):
        for window, limit in zip(("day", "week", "month"), limits, strict=True):
            rules.append(
                VelocityRule(
                    id=f"velocity-{scope}-{window}",
                    description=f"Spend {'to one vendor' if scope == 'vendor' else 'in total'} per rolling {window}.",
                    scope=scope,
                    window=window,
                    max_amount=Decimal(limit),
                )
            )
    for category, monthly in (("hosting", 40_000), ("saas", 15_000), ("contractors", 120_000)):
        rules.append(
            BudgetRule(
                id=f"budget-{category}",
                description=f"Monthly {category} budget.",
                scope="category",
                target=category,
                monthly_amount=Decimal(monthly),
            )
        )
    rules += [
        BudgetRule(
            id="budget-marketing",
            description="Monthly marketing budget; paused while the campaign plan is redone.",
            scope="category",
            target="marketing",
            monthly_amount=Decimal(30_000),
            enabled=False,
        ),
        BudgetRule(
            id="budget-acme-cloud",
            description="The committed-spend contract with Acme Cloud.",
            scope="vendor",
            target="acme-cloud",
            monthly_amount=Decimal(20_000),
            action=Action.BLOCK,
        ),
        AllowRule(
            id="allow-recurring",
            description="Recurring infrastructure and software bills up to 5k are paid.",
            max_amount=Decimal(5_000),
            vendor_categories=["hosting", "saas", "utilities"],
        ),
        AllowRule(
            id="allow-contractors",
            description="Contractor invoices up to 3k are paid.",
            max_amount=Decimal(3_000),
            vendor_categories=["contractors"],
        ),
    ]
    return PolicyDocument(
        currency="USD",
        rules=rules,
        groups={
            "finance": ApproverGroup(
                members=["cfo@example.com", "controller@example.com", "fpa-lead@example.com"],
                description="Finance team",
            ),
            "executives": ApproverGroup(
                members=["ceo@example.com", "cfo@example.com", "coo@example.com"], description="Executive team"
            ),
            "board": ApproverGroup(
                members=["chair@example.com", "audit-chair@example.com", "ceo@example.com", "cfo@example.com"],
                description="Board finance committee",
            ),
        },
        tiers=[
            ApprovalTier(id="routine", min_amount=Decimal(0), max_amount=Decimal(5_000), group="finance", quorum=1),
            ApprovalTier(
                id="elevated", min_amount=Decimal(5_000), max_amount=Decimal(25_000), group="finance", quorum=2
            ),
            ApprovalTier(
                id="large", min_amount=Decimal(25_000), max_amount=Decimal(100_000), group="executives", quorum=2
            ),
            ApprovalTier(id="exceptional", min_amount=Decimal(100_000), group="board", quorum=3),
        ],
        default_action=Action.REQUIRE_APPROVAL,
    )
