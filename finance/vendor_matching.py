"""Which registered vendor issued an invoice, and what about the match a person should see before it is paid.

The issuer is who the extractor read as the seller. A registered vendor's tax id or bank account printed
somewhere on the page only identifies the issuer when nothing contradicts it: an invoice whose issuer reads as
another company and that merely mentions a vendor's tax id (in the customer's block, a "payable to" note, a
footer) is that other company's invoice, and is not matched. A name that only matches once look-alike letters
are mapped back to Latin is matched, with a doubt that sends the invoice to a person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from finance.lookalikes import lookalike_problem, skeleton
from finance.models import Vendor

# A misread name ("ACM3 H0sting" for "ACME Hosting") is this close to the registered one; another company's
# name is not. Only then may a tax id or an account stand in for the name.
_MISREAD_RATIO = 0.8


@dataclass(frozen=True)
class VendorMatch:
    vendor: Vendor | None
    doubt: str | None = None  # set when a person must look before the invoice is paid, or why none matched


def _plain_key(name: str) -> str:
    """The key without the look-alike mapping: where it differs from the skeleton's, the name imitates."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))


def _close(name_key: str, vendor: Vendor, normalize: Callable[[str], str]) -> bool:
    names = {vendor.normalized_name, *(normalize(alias) for alias in vendor.aliases or [])}
    return any(SequenceMatcher(None, name_key, known).ratio() >= _MISREAD_RATIO for known in names if known)


def identify_issuer(
    vendors: Sequence[Vendor],
    *,
    vendor_name: str | None,
    payee_account: str | None,
    text: str,
    normalize: Callable[[str], str],
    normalize_identifier: Callable[[str], str],
) -> VendorMatch:
    """Strongest evidence first: the issuer's name or an alias; else its registered tax id printed in the text;
    else a bank account or payout address it is known by. Each step must point to exactly one vendor."""
    key = normalize(vendor_name) if vendor_name else ""
    if key:
        by_name = [v for v in vendors if key in {v.normalized_name, *map(normalize, v.aliases or [])}]
        if len(by_name) > 1:
            return VendorMatch(None)
        if by_name:
            vendor = by_name[0]
            problem = lookalike_problem(vendor_name)
            if problem is None and _plain_key(skeleton(vendor_name or "")) != _plain_key(vendor_name or ""):
                problem = f"the name {vendor_name!r} is written in look-alike letters"
            if problem:
                return VendorMatch(vendor, f"{problem}; it reads like registered vendor {vendor.name}")
            return VendorMatch(vendor)

    found: list[tuple[Vendor, str]] = []
    if text:
        printed = normalize_identifier(text)
        # Short ids would match by accident inside other numbers.
        by_tax_id = [v for v in vendors if v.tax_id and len(v.tax_id) >= 6 and v.tax_id in printed]
        if len(by_tax_id) > 1:
            return VendorMatch(None)
        found = [(v, f"tax id {v.tax_id}") for v in by_tax_id]
    if not found and payee_account:
        account = normalize_identifier(payee_account)
        by_account = [
            v for v in vendors if account in v.known_accounts or account == normalize_identifier(v.payout_address)
        ]
        if len(by_account) > 1:
            return VendorMatch(None)
        found = [(v, f"account {payee_account}") for v in by_account]
    if not found:
        return VendorMatch(None)
    vendor, what = found[0]
    if key and not _close(key, vendor, normalize):
        return VendorMatch(
            None,
            f"the issuer reads as {vendor_name!r}, not as registered vendor {vendor.name}, whose {what} is printed "
            "on the page: another company's invoice that mentions a vendor's details is not that vendor's bill",
        )
    if not key:
        return VendorMatch(
            vendor, f"no issuer name was read; only the {what} printed on the page points to {vendor.name}"
        )
    return VendorMatch(vendor, f"the issuer reads as {vendor_name!r}, close to {vendor.name}, whose {what} is printed")
