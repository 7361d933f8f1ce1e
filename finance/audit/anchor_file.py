"""The anchor file: one JSON line per anchor sent, appended and fsynced, never rewritten.

It is the copy of the anchors that lives outside the database: an attacker who empties `audit_anchors`
does not make the audit forget which transactions to look up on chain. A line is written after the anchor
is stored and before it is broadcast, so every anchor that can reach the chain is in the file.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class AnchorLine:
    seq: int
    head_hash: str
    chain_id: int
    tx_hash: str
    at: str


def _append(path: Path, line: AnchorLine) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps(
        {
            "seq": line.seq,
            "head_hash": line.head_hash,
            "chain_id": line.chain_id,
            "tx_hash": line.tx_hash,
            "at": line.at,
        },
        sort_keys=True,
    )
    # O_APPEND: concurrent writers (two workers, the CLI) each add whole lines and never overwrite one another.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (record + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


async def append_anchor_line(
    path: Path, *, seq: int, head_hash: str, chain_id: int, tx_hash: str, at: datetime
) -> None:
    line = AnchorLine(seq=seq, head_hash=head_hash, chain_id=chain_id, tx_hash=tx_hash, at=at.isoformat())
    await asyncio.to_thread(_append, path, line)


@dataclass(frozen=True)
class AnchorFileContents:
    lines: list[AnchorLine]
    unreadable: list[int]  # line numbers that are not an anchor line: a torn write, or someone's edit


def _read(path: Path) -> AnchorFileContents:
    if not path.exists():
        return AnchorFileContents([], [])
    lines, unreadable = [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
                lines.append(
                    AnchorLine(
                        seq=int(raw["seq"]),
                        head_hash=str(raw["head_hash"]),
                        chain_id=int(raw["chain_id"]),
                        tx_hash=str(raw["tx_hash"]),
                        at=str(raw.get("at", "")),
                    )
                )
            except (ValueError, KeyError, TypeError):
                unreadable.append(number)
    return AnchorFileContents(lines, unreadable)


async def read_anchor_file(path: Path) -> AnchorFileContents:
    return await asyncio.to_thread(_read, path)
