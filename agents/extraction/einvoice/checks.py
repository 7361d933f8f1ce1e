"""An e-invoice checked against itself: what kind of document its type code says it is, and whether its totals
add up the way EN 16931 requires. Each finding is a flag in the consistency checks' vocabulary
(agents.extraction.consistency), so it feeds the same policy facts: a credit note is blocked, the rest go to a
person.
"""

from __future__ import annotations

from decimal import Decimal

from facturx import is_credit_note

from agents.extraction.document_kinds import DocumentKind
from agents.extraction.einvoice.model import TOTAL_LABELS, EInvoice

# UNTDID 1001 codes an invoice may carry, named for a reader.
TYPE_LABELS = {
    "326": "partial invoice",
    "380": "commercial invoice",
    "381": "credit note",
    "383": "debit note",
    "384": "corrected invoice",
    "386": "prepayment invoice",
    "389": "self-billed invoice",
    "751": "invoice information for accounting purposes",
}
_CORRECTIONS = frozenset({"384"})  # a corrected invoice replaces one that may already be paid
_CENT = Decimal("0.01")
# EN 16931's calculation rules on the document totals: (rule, result, terms added, terms subtracted).
_RULES = (
    ("BR-CO-13", "BT-109", ("BT-106", "BT-108"), ("BT-107",)),
    ("BR-CO-15", "BT-112", ("BT-109", "BT-110"), ()),
    ("BR-CO-16", "BT-115", ("BT-112", "BT-114"), ("BT-113",)),
)


def type_label(code: str) -> str:
    return TYPE_LABELS.get(code) or ("credit note" if is_credit_note({"BT-3": code}) else f"type code {code}")


def einvoice_flags(einvoice: EInvoice) -> list[str]:
    return [*_kind_flags(einvoice), *_lines_vs_total(einvoice), *_totals(einvoice), *_accounts(einvoice)]


def _kind_flags(einvoice: EInvoice) -> list[str]:
    code = einvoice.type_code
    if einvoice.syntax == "UBL CreditNote" or is_credit_note({"BT-3": code}):
        kind = "credit_note"
    elif code in _CORRECTIONS:
        kind = "correction"
    else:
        return []
    # The span is unused by the flag; the title names the type code, which is what the XML "calls itself".
    return [DocumentKind(kind, f"{type_label(code)} (e-invoice type code {code})", (0, 0)).flag]


def _lines_vs_total(einvoice: EInvoice) -> list[str]:
    """BR-CO-10: the line net amounts add up to the sum of line net amounts (BT-106)."""
    amounts = [Decimal(line.amount) for line in einvoice.lines if line.amount is not None]
    stated = einvoice.totals.get("BT-106")
    if not amounts or stated is None or abs(sum(amounts) - stated) <= _CENT:
        return []
    return [
        f"inconsistent:lines_vs_total: the e-invoice's line net amounts sum to {sum(amounts):,.2f} but it states "
        f"their sum (BT-106) as {stated:,.2f}"
    ]


def _totals(einvoice: EInvoice) -> list[str]:
    """Each total that is given follows from the ones it is made of (an absent allowance, charge, prepayment or
    rounding counts as zero; a rule whose main terms are absent is not judged)."""
    totals, flags = einvoice.totals, []
    for rule, result, added, subtracted in _RULES:
        if result not in totals or added[0] not in totals:
            continue
        expected = sum((totals.get(t, Decimal(0)) for t in added), Decimal(0)) - sum(
            (totals.get(t, Decimal(0)) for t in subtracted), Decimal(0)
        )
        if abs(expected - totals[result]) > _CENT:
            flags.append(
                f"inconsistent:einvoice_totals: the e-invoice's {TOTAL_LABELS[result].lower()} ({result}) is "
                f"{totals[result]:,.2f} but its other totals make it {expected:,.2f} ({rule})"
            )
    return flags


def _accounts(einvoice: EInvoice) -> list[str]:
    if len(einvoice.accounts) < 2:
        return []
    return [f"ambiguous:payee_account: the e-invoice names {len(einvoice.accounts)} accounts to pay to "
            f"({', '.join(einvoice.accounts[:4])}); which is meant is a person's call"]  # fmt: skip
