"""The facts models: complete snapshots, derived figures, and refusals of impossible values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.policies.builders import D, facts, snapshot, spend


def test_spendable_and_runway() -> None:
    treasury = snapshot(balance=D(1000), reserved=D(250), monthly_burn=D(300))
    assert treasury.spendable == D(750)
    assert treasury.runway_months == D("2.5")
    assert snapshot(monthly_burn=D(0)).runway_months is None


def test_reservations_above_the_balance_leave_nothing_spendable() -> None:
    assert snapshot(balance=D(100), reserved=D(150)).spendable == D(-50)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vendor_spend": {"day": D(0), "week": D(0)}}, "vendor_spend"),
        ({"global_spend": {"day": D(0), "week": D(0), "month": D(0), "year": D(0)}}, "global_spend.year"),
        ({"global_spend": spend(day=-1)}, "global_spend.day"),
        ({"balance": D(-1)}, "balance"),
        ({"balance": 1000.0}, "balance"),
        ({"vendor_spend": {"day": 0.5, "week": D(1), "month": D(1)}}, "vendor_spend.day"),
        ({"reserved": D(-1)}, "reserved"),
        ({"monthly_burn": D("NaN")}, "monthly_burn"),
        ({"vendor_month_to_date": D(-1)}, "vendor_month_to_date"),
        ({"category_month_to_date": D(-1)}, "category_month_to_date"),
        ({"as_of": datetime(2026, 3, 17, 9, 30)}, "as_of"),  # naive: which day's "month to date"?
    ],
)
def test_snapshot_refuses(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        snapshot(**overrides)
    assert field in str(refused.value)


def test_every_snapshot_figure_is_required() -> None:
    with pytest.raises(ValidationError) as refused:
        type(snapshot()).model_validate({"balance": "1"})
    missing = {error["loc"][0] for error in refused.value.errors() if error["type"] == "missing"}
    assert missing == {
        "reserved",
        "monthly_burn",
        "vendor_spend",
        "global_spend",
        "vendor_month_to_date",
        "category_month_to_date",
        "as_of",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"extraction_confidence": 1.01}, "extraction_confidence"),
        ({"extraction_confidence": float("nan")}, "extraction_confidence"),
        ({"amount": D("Infinity")}, "amount"),
        ({"amount": 100.1}, "amount"),  # money never passes through a float
        ({"surprise": "x"}, "surprise"),
    ],
)
def test_invoice_facts_refuse(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        facts(**overrides)
    assert field in str(refused.value)


def test_facts_are_frozen_and_round_trip() -> None:
    invoice = facts(extraction_flags=("a",), extraction_confidence=0.75, submitted_by="cfo@example.com")
    with pytest.raises(ValidationError):
        invoice.amount = D(1)  # type: ignore[misc]
    assert type(invoice).model_validate_json(invoice.model_dump_json()) == invoice
    treasury = snapshot(vendor_spend=spend(1, 2, 3))
    assert type(treasury).model_validate_json(treasury.model_dump_json()) == treasury
