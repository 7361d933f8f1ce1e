"""The rules about people rather than amounts: a new payee needs someone else's approval, and nobody acts in two
steps of one payment's chain. Pure, like the rest of the evaluator: the facts carry user ids, never lookups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from policies.actions import Action
from policies.decision import Reason
from policies.facts import InvoiceFacts
from policies.rules import NewPayeeRule, SeparationOfDutiesRule

Findings = tuple[tuple[Action, Callable[[], Reason]], ...]


def new_payee(rule: NewPayeeRule, invoice: InvoiceFacts, as_of: datetime) -> Findings:
    if not invoice.vendor_registered:
        return ()
    since = invoice.payee_since
    cooling = timedelta(hours=float(rule.cooling_off_hours))
    cooling_off = since is not None and cooling > timedelta(0) and as_of - since < cooling
    if not invoice.payee_first_payment and not cooling_off:
        return ()

    def explain() -> Reason:
        why = (
            "nothing has been paid to this payout address yet"
            if invoice.payee_first_payment
            else (
                f"this payout address is payable only since {since.isoformat() if since else '?'}, inside the "
                f"{rule.cooling_off_hours}-hour cooling-off period"
            )
        )
        return Reason(
            rule=rule.id,
            message=f"{why}: someone who did not register, verify or change it must approve",
            inputs={
                "payee_first_payment": str(invoice.payee_first_payment).lower(),
                "payee_since": since.isoformat() if since else "",
                "cooling_off_hours": format(rule.cooling_off_hours, "f"),
            },
        )

    return ((rule.action, explain),)


def separation_of_duties(rule: SeparationOfDutiesRule, invoice: InvoiceFacts) -> Findings:
    submitter = invoice.submitted_by_user_id
    if submitter is None or submitter not in invoice.payee_vouched_by:
        return ()
    return (
        (
            rule.action,
            lambda: Reason(
                rule=rule.id,
                message="the submitter also registered, verified or changed this vendor's payout address; "
                "one person may act in only one step of a payment",
                inputs={"submitted_by_user_id": submitter},
            ),
        ),
    )
