"""Benchmark: policy evaluations per second, and what building the treasury snapshot from PostgreSQL
costs per invoice, in the same run.

    python bench/policy.py [--payments 20000] [--vendors 60] [--snapshots 300]

The snapshot is what the evaluate node reads before each evaluation: spend per vendor and in total over
the rolling windows, month-to-date per vendor and category, settled outflows for the burn, and invoices
awaiting approval. The database is seeded with `--payments` payments over 90 days across `--vendors`
vendors (it creates and drops its own database; TREASURER_TEST_POSTGRES_URL points at the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.policy_eval import evaluations_per_second
from finance.db import create_engine, session_factory
from finance.migrations.runner import upgrade_async
from finance.models import Invoice, Payment, PaymentStatus, Vendor, utcnow
from finance.runway import compute_runway
from finance.spend import spend_figures

PG_ADMIN_URL = os.environ.get("TREASURER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CATEGORIES = ["hosting", "saas", "contractors", "marketing", "utilities", "office"]


async def seed(sessions, payments: int, vendors: int) -> list[tuple[uuid.UUID, str]]:
    rng = random.Random(7)
    now = utcnow()
    rows = []
    async with sessions.begin() as session:
        for n in range(vendors):
            vendor = Vendor(
                id=uuid.uuid4(),
                name=f"Vendor {n}",
                normalized_name=f"vendor {n}",
                aliases=[],
                known_accounts=[],
                category=CATEGORIES[n % len(CATEGORIES)],
                payout_address="0x" + f"{n + 1:040x}",
            )
            session.add(vendor)
            rows.append((vendor.id, vendor.category))
        await session.flush()
        for n in range(payments):
            vendor_id, _ = rows[rng.randrange(vendors)]
            invoice = Invoice(id=uuid.uuid4(), raw_text=f"bench {n}", text_sha256=f"{n:064x}", status="paid")
            session.add(invoice)
            created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            session.add(
                Payment(
                    invoice_id=invoice.id,
                    dedupe_key=f"bench:{n}",
                    vendor_id=vendor_id,
                    payee_address="0x" + "1" * 40,
                    amount_units=rng.randrange(10_000_000, 5_000_000_000),
                    chain_id=31337,
                    token_address="0x" + "2" * 40,
                    status=PaymentStatus.CONFIRMED,
                    created_at=created,
                    settled_at=created + timedelta(seconds=30),
                )
            )
    return rows


async def snapshot_cost(sessions, vendors: list[tuple[uuid.UUID, str]], count: int) -> float:
    """Seconds per snapshot (spend windows + runway), over `count` invoices of random vendors."""
    rng = random.Random(11)
    started = time.perf_counter()
    for _ in range(count):
        vendor_id, category = vendors[rng.randrange(len(vendors))]
        async with sessions() as session:
            await spend_figures(session, vendor_id=vendor_id, category=category)
            await compute_runway(
                session,
                balance_units=10**15,
                reserved_units=0,
                window_days=90,
                baseline_monthly_burn_units=25_000 * 10**6,
            )
    return (time.perf_counter() - started) / count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--vendors", type=int, default=60)
    parser.add_argument("--snapshots", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    rate = await asyncio.to_thread(evaluations_per_second, args.seconds)

    name = f"treasurer_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    engine = create_engine(url)
    try:
        await upgrade_async(url)
        sessions = session_factory(engine)
        vendors = await seed(sessions, args.payments, args.vendors)
        per_snapshot = await snapshot_cost(sessions, vendors, args.snapshots)
    finally:
        await engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    print(f"policy benchmark: realistic policy (23 rules), {args.payments} payments of history, {args.vendors} vendors")
    print(f"  evaluations (pure evaluator):        {rate:10.0f} /s   {1e6 / rate:8.1f} us each")
    print(f"  snapshot built from PostgreSQL:      {1 / per_snapshot:10.1f} /s   {1e3 * per_snapshot:8.2f} ms each")
    print(f"  snapshot cost / evaluation cost:     {per_snapshot * rate:10.0f} x")


if __name__ == "__main__":
    asyncio.run(main())
