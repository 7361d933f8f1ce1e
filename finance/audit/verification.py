"""`audit verify --against-chain`: the decision log walked by seq and held against the anchors the chain vouches for.

The walk alone finds a missing seq, a row that does not chain to the one before (reordered, replaced) and a row
whose content no longer matches its hash, each at its exact seq. What it cannot see, the anchors do: rows cut
from the end of the log (the anchor names a seq that is gone) and a consistent rewrite, where every later hash
was recomputed (the anchor's hash no longer matches). A consistent rewrite can only be placed between the last
anchor that still matches and the first that does not, so it is reported at the first seq after the former.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.audit.chain_anchors import AnchorNote, ConfirmedAnchor, confirm_on_chain, gather_claims
from finance.chain.client import ChainClient
from finance.decisions import GENESIS_HASH, recompute_hash
from finance.models import Decision


@dataclass(frozen=True)
class Finding:
    seq: int
    message: str


@dataclass
class LogWalk:
    last_seq: int = 0
    findings: list[Finding] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> stored hash, for the anchored seqs only


@dataclass
class TrailReport:
    findings: list[Finding]
    notes: list[AnchorNote]
    anchors: list[ConfirmedAnchor]
    last_seq: int

    @property
    def records_altered(self) -> bool:
        return any(note.altered for note in self.notes)

    @property
    def intact(self) -> bool:
        return not self.findings and not self.records_altered

    @property
    def first_bad_seq(self) -> int | None:
        return min((f.seq for f in self.findings), default=None)

    @property
    def newest_anchored_seq(self) -> int:
        return max((a.seq for a in self.anchors), default=0)

    @property
    def unanchored_rows(self) -> int:
        return max(0, self.last_seq - self.newest_anchored_seq)


async def walk_log(session: AsyncSession, wanted: set[int]) -> LogWalk:
    walk = LogWalk()
    expected_prev, expected_seq = GENESIS_HASH, 1
    rows = await session.stream_scalars(select(Decision).order_by(Decision.seq, Decision.id))
    async for row in rows:
        if row.seq > expected_seq:
            missing = f"seq {expected_seq}" if row.seq == expected_seq + 1 else f"seq {expected_seq}..{row.seq - 1}"
            walk.findings.append(Finding(expected_seq, f"{missing} missing: deleted (seq {row.seq} follows)"))
        elif row.seq < expected_seq:
            walk.findings.append(Finding(row.seq, f"seq {row.seq} appears twice or out of order: rows reordered"))
        elif row.prev_hash != expected_prev:
            walk.findings.append(
                Finding(row.seq, f"seq {row.seq} does not chain to seq {row.seq - 1}: rows reordered or replaced")
            )
        if recompute_hash(row) != row.hash:
            walk.findings.append(Finding(row.seq, f"seq {row.seq} rewritten: its content does not match its hash"))
        if row.seq in wanted:
            walk.hashes[row.seq] = row.hash
        expected_prev, expected_seq = row.hash, max(expected_seq, row.seq + 1)
        walk.last_seq = max(walk.last_seq, row.seq)
    return walk


def hold_against_anchors(walk: LogWalk, anchors: list[ConfirmedAnchor]) -> list[Finding]:
    findings: list[Finding] = []
    vouched = 0  # the newest seq an anchor confirmed so far
    for anchor in sorted(anchors, key=lambda a: a.seq):
        stored = walk.hashes.get(anchor.seq)
        if stored == anchor.head_hash:
            vouched = max(vouched, anchor.seq)
            continue
        if anchor.seq > walk.last_seq:
            if not any(f.message.startswith("the log ends") for f in findings):
                first = walk.last_seq + 1
                findings.append(
                    Finding(
                        first,
                        f"the log ends at seq {walk.last_seq} but anchor tx {anchor.tx_hash} (block "
                        f"{anchor.block_number}) vouches for seq {anchor.seq}: seq {first}..{anchor.seq} deleted",
                    )
                )
            continue
        # The walk may already explain the mismatch (a reorder, a deletion): then it has the exact seq.
        explained = [f.seq for f in walk.findings if vouched < f.seq <= anchor.seq]
        if explained:
            findings.append(
                Finding(
                    min(explained),
                    f"seq {anchor.seq} differs from anchor tx {anchor.tx_hash} (block {anchor.block_number}), "
                    f"as the damage found at seq {min(explained)} implies",
                )
            )
            continue
        findings.append(
            Finding(
                vouched + 1,
                f"seq {anchor.seq} differs from anchor tx {anchor.tx_hash} (block {anchor.block_number}) although the "
                f"chain of hashes is whole: rows rewritten and every later hash recomputed; the first altered row lies "
                f"between seq {vouched + 1} (after the last matching anchor, seq {vouched}) and seq {anchor.seq}",
            )
        )
    return findings


async def verify_against_chain(session: AsyncSession, chain: ChainClient, anchor_file: Path) -> TrailReport:
    claims, notes = await gather_claims(session, anchor_file, chain.chain_id)
    on_chain = await confirm_on_chain(chain, claims)
    walk = await walk_log(session, {a.seq for a in on_chain.confirmed})
    findings = walk.findings + hold_against_anchors(walk, on_chain.confirmed)
    findings.sort(key=lambda f: f.seq)
    return TrailReport(findings, notes + on_chain.notes, on_chain.confirmed, walk.last_seq)
