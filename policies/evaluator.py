"""The evaluator: a pure function of (policy, invoice facts, treasury snapshot).

Precedence: every rule is evaluated; the strictest action among those that fired wins
(block > require_approval > allow). An invoice is allowed only when a rule explicitly allows it
and nothing stricter fired; when no rule speaks, the answer is `require_approval` (fail closed).
"""

from __future__ import annotations

from decimal import Decimal

from policies.schema import Action, InvoiceFacts, PolicyDecision, PolicyDocument, Reason, TreasurySnapshot

_SEVERITY = {Action.ALLOW: 0, Action.REQUIRE_APPROVAL: 1, Action.BLOCK: 2}


def evaluate(policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> PolicyDecision:
    fired: list[tuple[Action, Reason]] = []

    if invoice.amount is None:
        fired.append((Action.BLOCK, Reason(rule="amount_present", message="no payable amount was found")))
    elif invoice.amount <= 0:
        fired.append(
            (
                Action.BLOCK,
                Reason(
                    rule="amount_positive",
                    message=f"amount {invoice.amount} is not positive",
                    inputs={"amount": str(invoice.amount)},
                ),
            )
        )
    if not invoice.vendor_registered:
        fired.append(
            (Action.BLOCK, Reason(rule="known_vendor", message="the vendor is not in the registry; register it first"))
        )
    if invoice.currency != policy.currency:
        fired.append(
            (
                Action.BLOCK,
                Reason(
                    rule="currency",
                    message=f"invoice currency {invoice.currency or 'unknown'} is not the treasury's {policy.currency}",
                    inputs={"invoice_currency": str(invoice.currency), "treasury_currency": policy.currency},
                ),
            )
        )
    if invoice.duplicate_of is not None:
        fired.append(
            (
                Action.BLOCK,
                Reason(
                    rule="duplicate",
                    message=f"duplicate of invoice {invoice.duplicate_of}",
                    inputs={"duplicate_of": invoice.duplicate_of},
                ),
            )
        )
    if invoice.possible_duplicate_of is not None:
        fired.append(
            (
                Action.REQUIRE_APPROVAL,
                Reason(
                    rule="possible_duplicate",
                    message=f"same vendor, amount and date as invoice {invoice.possible_duplicate_of}",
                    inputs={"possible_duplicate_of": invoice.possible_duplicate_of},
                ),
            )
        )
    if invoice.payee_change is not None:
        fired.append(
            (
                Action.REQUIRE_APPROVAL,
                Reason(rule="payee_change", message=invoice.payee_change, inputs={"detail": invoice.payee_change}),
            )
        )
    if invoice.extraction_flags:
        flags = ", ".join(invoice.extraction_flags)
        fired.append(
            (
                Action.REQUIRE_APPROVAL,
                Reason(rule="extraction_review", message=f"extraction needs review: {flags}", inputs={"flags": flags}),
            )
        )
    if invoice.amount is not None and invoice.amount > 0:
        fired.append(_per_invoice_limit(policy, invoice.amount))
        if invoice.amount > treasury.spendable:
            fired.append(
                (
                    Action.BLOCK,
                    Reason(
                        rule="funds",
                        message=f"amount {invoice.amount} exceeds the spendable balance {treasury.spendable}",
                        inputs={"amount": str(invoice.amount), "spendable": str(treasury.spendable)},
                    ),
                )
            )

    if not fired:
        return PolicyDecision(
            action=Action.REQUIRE_APPROVAL,
            reasons=[Reason(rule="default", message="no rule matched; a person must decide")],
            policy_version=policy.version,
        )
    worst = max(_SEVERITY[action] for action, _ in fired)
    action = next(a for a, s in _SEVERITY.items() if s == worst)
    return PolicyDecision(
        action=action,
        reasons=[reason for act, reason in fired if act == action],
        policy_version=policy.version,
    )


def _per_invoice_limit(policy: PolicyDocument, amount: Decimal) -> tuple[Action, Reason]:
    inputs = {"amount": str(amount), "limit": str(policy.per_invoice_limit)}
    if amount <= policy.per_invoice_limit:
        return Action.ALLOW, Reason(
            rule="per_invoice_limit",
            message=f"{amount} is within the per-invoice limit {policy.per_invoice_limit}",
            inputs=inputs,
        )
    return policy.over_limit_action, Reason(
        rule="per_invoice_limit",
        message=f"{amount} exceeds the per-invoice limit {policy.per_invoice_limit}",
        inputs=inputs,
    )
