"""An e-invoice's values as the `InvoiceFields` every extractor returns, each marked where the stored text
prints it, so a reviewer's "where found" and the duplicate and payee checks work as for any other reading."""

from __future__ import annotations

from agents.extraction.einvoice.model import EInvoice
from agents.extraction.grounding import ground
from agents.extraction.schemas import FieldEvidence, InvoiceFields

_SCALARS = ("vendor", "invoice_number", "issue_date", "due_date", "total", "currency", "payee_account")


def einvoice_fields(einvoice: EInvoice, text: str) -> InvoiceFields:
    fields = InvoiceFields(
        vendor=einvoice.seller,
        invoice_number=einvoice.number,
        issue_date=einvoice.issue_date,
        due_date=einvoice.due_date,
        total=einvoice.payable,
        currency=einvoice.currency,
        # The first account named; several are flagged (einvoice.checks) for a person to choose.
        payee_account=einvoice.accounts[0] if einvoice.accounts else None,
        line_items=list(einvoice.lines),
    )
    # Grounding only locates the values here: an XML value the visible text does not print is kept all the same
    # (exact data needs no witness), with no span.
    located = ground(fields, text).fields.evidence
    evidence = {
        name: FieldEvidence(confidence=1.0, span=located[name].span if name in located else None)
        for name in _SCALARS
        if getattr(fields, name) is not None
    }
    return fields.model_copy(update={"evidence": evidence})
