"""The vendor registry: who may be paid, and the one address each may be paid at.

Registering is one person's step; verifying, and every later change to what identifies or pays a vendor,
is another's (`finance.vendor_changes`)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from web3 import Web3

from finance.decisions import DecisionLog
from finance.errors import TreasurerError
from finance.identity import Actor
from finance.lookalikes import skeleton
from finance.models import Vendor, VendorStatus
from finance.vendor_matching import VendorMatch, identify_issuer

# Legal forms carry no identity: "ACME Hosting GmbH" and "Acme Hosting" are one vendor.
_LEGAL_FORMS = {
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "ag",
    "kg",
    "ug",
    "ohg",
    "mbh",
    "sa",
    "sas",
    "sarl",
    "sasu",
    "bv",
    "nv",
    "vof",
    "sp",
    "z",
    "o",
    "oo",
    "spzoo",
    "sc",
    "srl",
    "spa",
    "ab",
    "as",
    "oy",
    "pty",
    "lp",
    "llp",
}


class VendorConflict(TreasurerError):
    status_code = 409
    code = "vendor_conflict"


def normalize_vendor_name(name: str) -> str:
    # On the skeleton: "ΑCME" with a Greek Alpha is the same key as "ACME", so a look-alike is recognised as the
    # name it imitates (and reported as such by the match) instead of passing as an unknown company.
    folded = unicodedata.normalize("NFKD", skeleton(name)).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded.replace("&", " and "))
    core = [w for w in words if w not in _LEGAL_FORMS]
    return " ".join(core or words)


def normalize_identifier(value: str) -> str:
    """Tax ids, IBANs and addresses compare on upper-case letters and digits: `DE 123 456-789` is `DE123456789`."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def payee_change(
    vendor: Vendor,
    printed_account: str | None,
    *,
    page_accounts: Sequence[str] = (),
    hidden_characters: bool = False,
) -> str | None:
    """Why the payout details printed on an invoice differ from the registry, or None when they do not.

    `printed_account` is the one the extractor read; `page_accounts` are every IBAN and address found anywhere
    on the page, and `hidden_characters` says the page carries bidi or zero-width controls near them. Nothing
    printed is ever paid to; this only decides whether a person must look first, because "our bank details have
    changed" on an invoice is the classic invoice fraud.
    """
    printed: dict[str, str] = {}
    for account in ([printed_account] if printed_account else []) + list(page_accounts):
        printed.setdefault(normalize_identifier(account), account)
    reasons = [reason for account in printed.values() if (reason := _unregistered(vendor, account))]
    if len(printed) > 1:
        # "Old account closed, please use the new one": which is meant is a person's call, even among registered ones.
        listed = ", ".join(list(printed.values())[:4]) + (", ..." if len(printed) > 4 else "")
        reasons.append(f"the invoice shows {len(printed)} different payout accounts ({listed})")
    if hidden_characters:
        reasons.append(
            "the invoice carries invisible bidi or zero-width characters near its payout details, which can make "
            "an account read differently from what it is"
        )
    return "; ".join(reasons[:3]) or None


def _unregistered(vendor: Vendor, account: str) -> str | None:
    printed = normalize_identifier(account)
    if Web3.is_address(account):
        if printed != normalize_identifier(vendor.payout_address):
            return f"the invoice asks for payment to {account}, not the registered {vendor.payout_address}"
        return None
    if not vendor.known_accounts:
        # Such a vendor is paid only at its wallet: a bank account nobody registered is "our bank details changed".
        return f"the invoice shows account {account}, and no bank account is registered for {vendor.name}"
    if printed not in vendor.known_accounts:
        return f"the invoice shows account {account}, which is not one registered for {vendor.name}"
    return None


def checksum_payout_address(address: str) -> str:
    if not Web3.is_address(address):
        raise VendorConflict(f"{address!r} is not an EVM address")
    if address != address.lower() and address != address.upper() and not Web3.is_checksum_address(address):
        # A mixed-case address with a wrong checksum is a typo, and typos lose money.
        raise VendorConflict(f"{address} fails its EIP-55 checksum")
    return Web3.to_checksum_address(address)


def vendor_names(vendor: Vendor) -> set[str]:
    """Every normalised name a vendor answers to: the keys invoices are matched on."""
    return {vendor.normalized_name, *(normalize_vendor_name(a) for a in vendor.aliases or [])} - {""}


class VendorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        name: str,
        payout_address: str,
        aliases: list[str] | None = None,
        *,
        registered_by: Actor,
        tax_id: str | None = None,
        known_accounts: list[str] | None = None,
        category: str | None = None,
    ) -> Vendor:
        """Register a vendor as `pending_verification`: nothing is paid to it until a second person verifies it
        (`finance.vendor_changes.verify`)."""
        vendor = Vendor(
            category=category.strip().lower() if category else None,
            name=name.strip(),
            normalized_name=normalize_vendor_name(name),
            aliases=[a.strip() for a in aliases or []],
            tax_id=normalize_identifier(tax_id) if tax_id else None,
            known_accounts=[normalize_identifier(a) for a in known_accounts or []],
            payout_address=checksum_payout_address(payout_address),
            status=VendorStatus.PENDING_VERIFICATION,
            registered_by=registered_by.name,
            registered_by_user_id=registered_by.user_id,
            payee_vouched_by=[registered_by.user_key] if registered_by.user_key else [],
            active=True,
        )
        await self.refuse_name_clash(vendor)
        try:
            async with self.session.begin_nested():
                self.session.add(vendor)
        except IntegrityError as exc:
            raise VendorConflict(f"a vendor named like {name!r} or with this tax id is already registered") from exc
        await DecisionLog(self.session).append(
            invoice_id=None,
            step="vendor",
            outcome="registered",
            reason=f"{registered_by.name} registered {vendor.name}, to be paid at {vendor.payout_address} once "
            "someone else verifies it",
            details={"vendor_id": vendor.id, "payout_address": vendor.payout_address, "tax_id": vendor.tax_id},
            actor=registered_by.name,
        )
        return vendor

    async def refuse_name_clash(self, vendor: Vendor) -> None:
        """A name or alias that another vendor (active or not) already answers to would let a newcomer take over
        that vendor's bills: "deactivate the real one, register mine under its name" is a known redirect."""
        mine = vendor_names(vendor)
        others = await self.session.scalars(
            select(Vendor).where(Vendor.id != vendor.id) if vendor.id else select(Vendor)
        )
        for other in others:
            clash = mine & vendor_names(other)
            if clash:
                raise VendorConflict(
                    f"{sorted(clash)[0]!r} is already a name of vendor {other.name} ({other.id}); "
                    "change that vendor instead of registering another"
                )

    async def listed(self, include_inactive: bool = False) -> list[Vendor]:
        query = select(Vendor).order_by(Vendor.name)
        if not include_inactive:
            query = query.where(Vendor.active.is_(True))
        return list(await self.session.scalars(query))

    async def get(self, vendor_id: uuid.UUID) -> Vendor | None:
        return await self.session.get(Vendor, vendor_id)

    async def by_name_or_id(self, name_or_id: str) -> Vendor | None:
        try:
            return await self.get(uuid.UUID(name_or_id))
        except ValueError:
            return await self.by_name(name_or_id)

    async def by_name(self, name: str) -> Vendor | None:
        return await self.session.scalar(select(Vendor).where(Vendor.normalized_name == normalize_vendor_name(name)))

    async def match(self, extracted_name: str) -> Vendor | None:
        """The active vendor whose name or an alias normalises to the extracted name, if exactly one does."""
        return await self.match_invoice(vendor_name=extracted_name, payee_account=None, text="")

    async def match_invoice(self, *, vendor_name: str | None, payee_account: str | None, text: str) -> Vendor | None:
        """The registered vendor that issued the invoice, if exactly one did (`finance.vendor_matching`)."""
        match = await self.identify(vendor_name=vendor_name, payee_account=payee_account, text=text)
        return match.vendor

    async def identify(self, *, vendor_name: str | None, payee_account: str | None, text: str) -> VendorMatch:
        """The issuer among the active vendors, with what a person should check first; ambiguity never gets paid."""
        vendors = list(await self.session.scalars(select(Vendor).where(Vendor.active.is_(True))))
        return identify_issuer(
            vendors,
            vendor_name=vendor_name,
            payee_account=payee_account,
            text=text,
            normalize=normalize_vendor_name,
            normalize_identifier=normalize_identifier,
        )
