"""The vendor registry: who may be paid, and the one address each may be paid at."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from web3 import Web3

from finance.errors import TreasurerError
from finance.models import Vendor

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
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded.replace("&", " and "))
    core = [w for w in words if w not in _LEGAL_FORMS]
    return " ".join(core or words)


def checksum_payout_address(address: str) -> str:
    if not Web3.is_address(address):
        raise VendorConflict(f"{address!r} is not an EVM address")
    if address != address.lower() and address != address.upper() and not Web3.is_checksum_address(address):
        # A mixed-case address with a wrong checksum is a typo, and typos lose money.
        raise VendorConflict(f"{address} fails its EIP-55 checksum")
    return Web3.to_checksum_address(address)


class VendorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, name: str, payout_address: str, aliases: list[str] | None = None) -> Vendor:
        vendor = Vendor(
            name=name.strip(),
            normalized_name=normalize_vendor_name(name),
            aliases=[a.strip() for a in aliases or []],
            payout_address=checksum_payout_address(payout_address),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(vendor)
        except IntegrityError as exc:
            raise VendorConflict(f"a vendor named like {name!r} is already registered") from exc
        return vendor

    async def get(self, vendor_id: uuid.UUID) -> Vendor | None:
        return await self.session.get(Vendor, vendor_id)

    async def by_name(self, name: str) -> Vendor | None:
        return await self.session.scalar(select(Vendor).where(Vendor.normalized_name == normalize_vendor_name(name)))

    async def match(self, extracted_name: str) -> Vendor | None:
        """The active vendor whose name or an alias normalises to the extracted name, if exactly one does."""
        key = normalize_vendor_name(extracted_name)
        if not key:
            return None
        vendors = await self.session.scalars(select(Vendor).where(Vendor.active.is_(True)))
        hits = [v for v in vendors if v.normalized_name == key or key in {normalize_vendor_name(a) for a in v.aliases}]
        # Two vendors answering to one name is ambiguity, and ambiguity never gets paid.
        return hits[0] if len(hits) == 1 else None
