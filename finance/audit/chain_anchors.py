"""Which anchors the chain vouches for. The database is not trusted here: anchors are gathered from the anchor
file and from `audit_anchors`, and each one counts only if the chain itself shows a mined transaction, status 1,
from the treasury wallet to itself, whose data decodes to (seq, hash). What the records claim is only where to
look; what the transaction carries is the anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.audit.anchor_file import read_anchor_file
from finance.audit.payload import decode_anchor
from finance.chain.client import ChainClient
from finance.models import AnchorStatus, AuditAnchor

_SUPERSEDED = (AnchorStatus.REPLACED, AnchorStatus.FAILED)


@dataclass(frozen=True)
class AnchorClaim:
    tx_hash: str
    seq: int
    head_hash: str
    source: str  # "file" | "database"
    # Recorded as replaced or refused: never meant to be mined, so its absence from the chain is not worth a line.
    superseded: bool = False


@dataclass(frozen=True)
class ConfirmedAnchor:
    seq: int
    head_hash: str
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class AnchorNote:
    """Something about an anchor record worth a line. `altered`: a record contradicts the chain (someone
    edited the anchor file or table), which is tampering in itself."""

    message: str
    altered: bool = False


@dataclass
class ChainAnchors:
    confirmed: list[ConfirmedAnchor]
    notes: list[AnchorNote]


async def gather_claims(
    session: AsyncSession, anchor_file: Path, chain_id: int
) -> tuple[list[AnchorClaim], list[AnchorNote]]:
    contents = await read_anchor_file(anchor_file)
    notes = [
        AnchorNote(f"anchor file {anchor_file} line {n} is not an anchor record; ignored") for n in contents.unreadable
    ]
    claims = [
        AnchorClaim(line.tx_hash.lower(), line.seq, line.head_hash, "file")
        for line in contents.lines
        if line.chain_id == chain_id
    ]
    rows = await session.execute(
        select(AuditAnchor.tx_hash, AuditAnchor.seq, AuditAnchor.head_hash, AuditAnchor.status).where(
            AuditAnchor.chain_id == chain_id
        )
    )
    claims += [
        AnchorClaim(tx_hash.lower(), seq, head_hash, "database", superseded=status in _SUPERSEDED)
        for tx_hash, seq, head_hash, status in rows
    ]
    return claims, notes


async def confirm_on_chain(chain: ChainClient, claims: list[AnchorClaim]) -> ChainAnchors:
    found = ChainAnchors([], [])
    by_tx: dict[str, list[AnchorClaim]] = {}
    for claim in claims:
        by_tx.setdefault(claim.tx_hash, []).append(claim)
    for tx_hash, said in by_tx.items():
        anchor, problem = await _check(chain, tx_hash)
        if anchor is None:
            # A replaced or refused anchor is never mined: that is normal, and such a record vouches for nothing.
            if not any(claim.superseded for claim in said):
                sources = " and ".join(sorted({claim.source for claim in said}))
                found.notes.append(AnchorNote(f"anchor tx {tx_hash} (in the {sources}) {problem}; not counted"))
            continue
        found.confirmed.append(anchor)
        for claim in said:
            if (claim.seq, claim.head_hash) != (anchor.seq, anchor.head_hash):
                found.notes.append(
                    AnchorNote(
                        f"the {claim.source} records anchor tx {tx_hash} as seq {claim.seq} hash "
                        f"{claim.head_hash[:16]}..., but the chain carries seq {anchor.seq} hash "
                        f"{anchor.head_hash[:16]}...: anchor records altered",
                        altered=True,
                    )
                )
    found.confirmed.sort(key=lambda a: (a.seq, a.block_number))
    return found


async def _check(chain: ChainClient, tx_hash: str) -> tuple[ConfirmedAnchor | None, str]:
    tx = await chain.transaction(tx_hash)
    if tx is None:
        return None, "is not on chain"
    if tx.block_number is None:
        return None, "is not mined yet"
    receipt = await chain.confirmed_receipt(tx_hash)
    if receipt is None:
        return None, f"has fewer than {chain.settings.confirmations} confirmations"
    if receipt.status != 1:
        return None, "failed on chain (status 0)"
    treasury = chain.treasury_address
    if tx.sender != treasury or tx.to != treasury:
        return None, f"is not from the treasury wallet {treasury} to itself"
    head = decode_anchor(tx.data)
    if head is None:
        return None, "does not carry an anchor"
    return ConfirmedAnchor(head.seq, head.head_hash, tx.tx_hash.lower(), receipt.block_number), ""
