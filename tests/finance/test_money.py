from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finance.errors import InvalidInvoice
from finance.money import from_base_units, to_base_units


@pytest.mark.parametrize(
    ("amount", "decimals", "units"),
    [
        (Decimal("1250.00"), 6, 1_250_000_000),
        (Decimal("0.000001"), 6, 1),
        (Decimal("980.5"), 18, 980_500_000_000_000_000_000),
        (Decimal("115792089237316195423570985008687907853269984665640564039457.584007913129639935"), 18, 2**256 - 1),
    ],
)
def test_exact_conversion(amount: Decimal, decimals: int, units: int) -> None:
    assert to_base_units(amount, decimals) == units
    assert from_base_units(units, decimals) == amount


@pytest.mark.parametrize("amount", [Decimal("0.0000001"), Decimal("NaN"), Decimal("Infinity")])
def test_refuses_amounts_that_cannot_be_paid_exactly(amount: Decimal) -> None:
    with pytest.raises(InvalidInvoice):
        to_base_units(amount, 6)


@given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=0, max_value=36))
def test_round_trip(units: int, decimals: int) -> None:
    assert to_base_units(from_base_units(units, decimals), decimals) == units
