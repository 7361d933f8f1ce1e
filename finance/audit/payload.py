"""What an anchor transaction carries: a fixed prefix, the head's seq and the head's hash, 48 bytes in all.

The prefix tells an anchor from any other transaction of the wallet (a gap filler, a payment) at a glance;
the seq (8 bytes, big-endian) and the hash (32 bytes) are the decision log's head when it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"TRAILv01"
_SEQ_BYTES = 8
_HASH_BYTES = 32
PAYLOAD_BYTES = len(MAGIC) + _SEQ_BYTES + _HASH_BYTES


@dataclass(frozen=True)
class AnchoredHead:
    seq: int
    head_hash: str  # 64 lower-case hex digits, as the decision log stores it


def encode_anchor(seq: int, head_hash: str) -> bytes:
    digest = bytes.fromhex(head_hash)
    if len(digest) != _HASH_BYTES or not 0 < seq < 2 ** (8 * _SEQ_BYTES):
        raise ValueError(f"not an anchorable head: seq {seq}, hash {head_hash!r}")
    return MAGIC + seq.to_bytes(_SEQ_BYTES, "big") + digest


def decode_anchor(data: bytes) -> AnchoredHead | None:
    """The head an anchor's data names, or None when the data is not an anchor."""
    if len(data) != PAYLOAD_BYTES or not data.startswith(MAGIC):
        return None
    seq = int.from_bytes(data[len(MAGIC) : len(MAGIC) + _SEQ_BYTES], "big")
    return AnchoredHead(seq=seq, head_hash=data[len(MAGIC) + _SEQ_BYTES :].hex()) if seq > 0 else None
