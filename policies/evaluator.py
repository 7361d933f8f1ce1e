"""The evaluator: a pure function of (policy, invoice facts, treasury snapshot).

Precedence: every rule is evaluated; the strictest action among those that fired wins
(block > require_approval > allow). An invoice is allowed only when a rule explicitly allows it
and nothing stricter fired; when no rule speaks, the answer is `require_approval` (fail closed).
"""

from __future__ import annotations

from policies.schema import Action, InvoiceFacts, PolicyDecision, PolicyDocument, Reason, TreasurySnapshot

_SEVERITY = {Action.ALLOW: 0, Action.REQUIRE_APPROVAL: 1, Action.BLOCK: 2}


def evaluate(policy: PolicyDocument, invoice: InvoiceFacts, treasury: TreasurySnapshot) -> PolicyDecision:
    fired: list[tuple[Action, Reason]] = []

    def fire(action: Action, rule: str, message: str, **inputs: object) -> None:
        fired.append((action, Reason(rule=rule, message=message, inputs={k: str(v) for k, v in inputs.items()})))

    amount = invoice.amount
    if amount is None:
        fire(Action.BLOCK, "amount_present", "no payable amount was found")
    elif amount <= 0:
        fire(Action.BLOCK, "amount_positive", f"amount {amount} is not positive", amount=amount)
    if not invoice.vendor_registered:
        fire(Action.BLOCK, "known_vendor", "the vendor is not in the registry; register it first")
    if invoice.currency != policy.currency:
        fire(
            Action.BLOCK,
            "currency",
            f"invoice currency {invoice.currency or 'unknown'} is not the treasury's {policy.currency}",
            invoice_currency=invoice.currency,
            treasury_currency=policy.currency,
        )
    if invoice.duplicate_of is not None:
        fire(
            Action.BLOCK, "duplicate", f"duplicate of invoice {invoice.duplicate_of}", duplicate_of=invoice.duplicate_of
        )
    if invoice.possible_duplicate_of is not None:
        fire(
            Action.REQUIRE_APPROVAL,
            "possible_duplicate",
            f"same vendor, amount and date as invoice {invoice.possible_duplicate_of}",
            possible_duplicate_of=invoice.possible_duplicate_of,
        )
    if invoice.payee_change is not None:
        fire(Action.REQUIRE_APPROVAL, "payee_change", invoice.payee_change, detail=invoice.payee_change)
    if invoice.extraction_flags:
        flags = ", ".join(invoice.extraction_flags)
        fire(Action.REQUIRE_APPROVAL, "extraction_review", f"extraction needs review: {flags}", flags=flags)
    if amount is not None and amount > 0:
        limit = policy.per_invoice_limit
        if amount <= limit:
            fire(Action.ALLOW, "per_invoice_limit", f"{amount} is within the per-invoice limit {limit}",
                 amount=amount, limit=limit)  # fmt: skip
        else:
            fire(policy.over_limit_action, "per_invoice_limit", f"{amount} exceeds the per-invoice limit {limit}",
                 amount=amount, limit=limit)  # fmt: skip
        if amount > treasury.spendable:
            fire(
                Action.BLOCK,
                "funds",
                f"amount {amount} exceeds the spendable balance {treasury.spendable}",
                amount=amount,
                spendable=treasury.spendable,
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
