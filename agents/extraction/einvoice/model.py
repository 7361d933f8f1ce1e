"""What an e-invoice says, read exactly from its XML, and the refusal of one that cannot be read.

Only the values a bill is paid, matched and checked on are kept, named as EN 16931 names them (the European
e-invoicing norm that Factur-X/ZUGFeRD, XRechnung and Peppol BIS Billing 3.0 all implement, in CII or UBL).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agents.extraction.schemas import LineItem
from finance.errors import InvalidInvoice

# The document totals (EN 16931 BG-22), in the order an invoice prints them.
TOTAL_LABELS: dict[str, str] = {
    "BT-106": "Sum of line net amounts",
    "BT-107": "Allowances",
    "BT-108": "Charges",
    "BT-109": "Total without VAT",
    "BT-110": "VAT",
    "BT-112": "Grand total",
    "BT-113": "Prepaid",
    "BT-114": "Rounding",
    "BT-115": "Amount due",
}


class InvalidEInvoice(InvalidInvoice):
    code = "invalid_einvoice"


@dataclass(frozen=True)
class EInvoice:
    syntax: str  # "CII" or "UBL Invoice" / "UBL CreditNote"
    guideline: str | None  # BT-24: which specification it claims (Factur-X level, XRechnung, Peppol BIS)
    type_code: str  # BT-3, UNTDID 1001: 380 invoice, 381 credit note, 384 corrected invoice...
    number: str  # BT-1
    issue_date: str  # BT-2, ISO 8601
    due_date: str | None  # BT-9
    currency: str  # BT-5
    seller: str  # BT-27
    seller_vat: str | None  # BT-31
    buyer: str | None  # BT-44
    accounts: tuple[str, ...]  # BT-84: the seller's IBANs (or other account ids) to be paid at
    lines: tuple[LineItem, ...]  # BG-25: BT-153 name, BT-129 quantity, BT-146 net price, BT-131 net amount
    totals: dict[str, Decimal]  # BG-22, keyed as TOTAL_LABELS

    @property
    def payable(self) -> Decimal:
        """BT-115, the amount due for payment: the grand total less what was prepaid, plus rounding. It is what a
        transfer settles, so it is the total we pay on (the grand total alone would pay a prepayment twice)."""
        return self.totals["BT-115"]

    @property
    def grand_total(self) -> Decimal:
        return self.totals["BT-112"]
