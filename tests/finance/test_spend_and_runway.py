"""Spend windows, budgets and runway from stored payments, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from finance.db import create_engine, session_factory
from finance.migrations.runner import upgrade_async
from finance.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Vendor
from finance.runway import compute_runway
from finance.spend import spend_figures

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UNIT = 10**6


async def _seed(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    acme, globex = uuid.uuid4(), uuid.uuid4()
    async with sessions.begin() as session:
        session.add(Vendor(id=acme, name="Acme", normalized_name="acme", aliases=[], known_accounts=[],
                           category="hosting", payout_address="0x" + "1" * 40))  # fmt: skip
        session.add(Vendor(id=globex, name="Globex", normalized_name="globex", aliases=[], known_accounts=[],
                           category="saas", payout_address="0x" + "2" * 40))  # fmt: skip
        await session.flush()  # no ORM relationships, so the parents go in first explicitly
        # (vendor, age, amount in units, status)
        history = [
            (acme, timedelta(hours=2), 100, PaymentStatus.CONFIRMED),
            (acme, timedelta(days=3), 200, PaymentStatus.CONFIRMED),
            (acme, timedelta(days=12), 400, PaymentStatus.CONFIRMED),  # this month (Nov 8), outside the week
            (acme, timedelta(days=25), 800, PaymentStatus.CONFIRMED),  # last month, inside 30 days
            (globex, timedelta(hours=5), 1_000, PaymentStatus.SUBMITTED),  # in flight counts as spent
            (globex, timedelta(days=1, hours=1), 2_000, PaymentStatus.FAILED),  # failed never counts
            (globex, timedelta(days=60), 4_000, PaymentStatus.CONFIRMED),  # only the burn sees this
        ]
        for n, (vendor, age, amount, status) in enumerate(history):
            invoice = Invoice(id=uuid.uuid4(), raw_text=f"bill {n}", text_sha256=f"{n:064x}", status="paid")
            session.add(invoice)
            await session.flush()
            created = NOW - age
            session.add(Payment(
                invoice_id=invoice.id, dedupe_key=f"k{n}", vendor_id=vendor, payee_address="0x" + "3" * 40,
                amount_units=amount * UNIT, chain_id=1, token_address="0x" + "4" * 40, status=status,
                created_at=created, settled_at=created if status == PaymentStatus.CONFIRMED else None,
            ))  # fmt: skip
        session.add(Invoice(raw_text="waiting", text_sha256="f" * 64, status=InvoiceStatus.PENDING_APPROVAL,
                            total_units=300 * UNIT))  # fmt: skip
    await engine.dispose()
    return acme, globex


@pytest.fixture(params=["postgresql", "sqlite"])
async def seeded(request, database_url: str, tmp_path):
    url = database_url if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    if request.param == "sqlite":
        await upgrade_async(url)
    acme, globex = await _seed(url)
    engine = create_engine(url)
    yield session_factory(engine), acme, globex
    await engine.dispose()


async def test_spend_windows_budgets_and_month_to_date(seeded) -> None:
    sessions, acme, _ = seeded
    async with sessions() as session:
        figures = await spend_figures(session, vendor_id=acme, category="hosting", now=NOW)
    assert figures.vendor_window_units == {"day": 100 * UNIT, "week": 300 * UNIT, "month": 1_500 * UNIT}
    assert figures.global_window_units == {"day": 1_100 * UNIT, "week": 1_300 * UNIT, "month": 2_500 * UNIT}
    assert figures.vendor_month_to_date_units == 700 * UNIT
    assert figures.category_month_to_date_units == 700 * UNIT


async def test_unknown_vendor_has_no_spend_of_its_own(seeded) -> None:
    sessions, _, _ = seeded
    async with sessions() as session:
        figures = await spend_figures(session, vendor_id=None, category=None, now=NOW)
    assert figures.vendor_window_units == {"day": 0, "week": 0, "month": 0}
    assert figures.global_window_units["month"] == 2_500 * UNIT


async def test_runway_from_history_baseline_and_commitments(seeded) -> None:
    sessions, _, _ = seeded
    async with sessions() as session:
        runway = await compute_runway(
            session, balance_units=90_000 * UNIT, reserved_units=1_000 * UNIT, window_days=90,
            baseline_monthly_burn_units=500 * UNIT, now=NOW,
        )  # fmt: skip
    settled = (100 + 200 + 400 + 800 + 4_000) * UNIT
    assert runway.settled_in_window_units == settled
    assert runway.history_days == 60  # shorter than the window: the baseline may apply
    assert runway.observed_monthly_burn_units == settled * 30 // 90  # 1,833.33 a month
    assert runway.monthly_burn_units == runway.observed_monthly_burn_units + 300 * UNIT  # observed > baseline
    assert runway.spendable_units == 89_000 * UNIT
    assert str(runway.months) == "41.72"  # 89,000 / (5,500 * 30 / 90 + 300)


async def test_baseline_applies_while_history_is_short(seeded) -> None:
    sessions, _, _ = seeded
    async with sessions() as session:
        runway = await compute_runway(
            session, balance_units=10_000 * UNIT, reserved_units=0, window_days=90,
            baseline_monthly_burn_units=50_000 * UNIT, now=NOW,
        )  # fmt: skip
    assert runway.monthly_burn_units == 50_300 * UNIT
