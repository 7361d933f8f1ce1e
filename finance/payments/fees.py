"""Fee bumps for replacing a stuck transaction of the hot wallet (a payment attempt or an audit anchor)."""

from __future__ import annotations

from decimal import Decimal


def bump_fee(fee: int, percent: Decimal) -> int:
    """`fee` raised by `percent`, rounded up, and at least by one wei: a replacement must outbid."""
    bumped = -(-fee * int(percent * 1000) // 100_000)
    return max(fee + 1, fee + bumped)
