"""Amount types shared by the document and the facts: Decimal, never float, within a sane range."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# Far above any real invoice or limit: a value past it is a typo (an extra zero or a pasted token amount in
# base units), and refusing it keeps every sum the evaluator makes well inside Decimal's exact range.
MAX_AMOUNT = Decimal(10) ** 15


def _not_float(value: Any) -> Any:
    # A float has already rounded the amount (JSON 0.1 is 0.1000000000000000055...; long numbers lose digits).
    if isinstance(value, float):
        raise ValueError(f'give amounts as a string or an integer (e.g. "{value}"), not a float: floats round')
    return value


NO_FLOAT = BeforeValidator(_not_float)

# Constraints come before NO_FLOAT so that pydantic applies them to the Decimal itself and its messages read
# "less than or equal to 1000000000000000" rather than quoting a Decimal repr. NaN and infinity are refused
# by pydantic's Decimal already.
Money = Annotated[Decimal, NO_FLOAT]
NonNegative = Annotated[Decimal, Field(ge=0), NO_FLOAT]
# A configured limit: positive and at most MAX_AMOUNT.
Limit = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT), NO_FLOAT]
# The lower edge of an approval band: zero included.
Floor = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT), NO_FLOAT]
