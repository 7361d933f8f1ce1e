"""Conversions between what people read (`Decimal` in token units) and what is stored and sent
(integer base units). `float` never appears: 0.1 + 0.2 is not a payable amount.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

from finance.errors import InvalidInvoice

# uint256 has 78 digits; Decimal's default 28-digit context would silently round large amounts.
_PRECISION = 160


def to_base_units(amount: Decimal, decimals: int) -> int:
    try:
        with localcontext(prec=_PRECISION):
            scaled = amount.scaleb(decimals)
    except InvalidOperation as exc:  # NaN, Infinity
        raise InvalidInvoice(f"amount {amount!r} is not a finite number") from exc
    if not scaled.is_finite():
        raise InvalidInvoice(f"amount {amount!r} is not a finite number")
    if scaled != scaled.to_integral_value():
        # Rounding would pay a different amount from the one on the invoice.
        raise InvalidInvoice(f"amount {amount} has more than {decimals} decimal places")
    return int(scaled)


def from_base_units(units: int, decimals: int) -> Decimal:
    with localcontext(prec=_PRECISION):
        return Decimal(units).scaleb(-decimals)
