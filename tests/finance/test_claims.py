import asyncio
import uuid

from sqlalchemy import func, select

from finance.claims import bill_keys, claim_bill, release_claims
from finance.db import create_engine, session_factory
from finance.identity import Actor
from finance.invoices import InvoiceRepository
from finance.models import InvoiceClaim
from finance.vendors import VendorRepository


async def _setup(database_url: str, invoices: int):  # noqa: ANN202
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        vendor = await VendorRepository(session).add(
            "Claims Test BV", "0x2029722a2FBdaD4597B9C5D4e786331a30f7F8bD", registered_by=Actor.system("tests")
        )
        ids = [(await InvoiceRepository(session).create(f"bill {i}")).id for i in range(invoices)]
    return engine, sessions, vendor.id, ids


async def test_concurrent_submissions_of_one_bill_have_exactly_one_owner(database_url: str) -> None:
    engine, sessions, vendor_id, ids = await _setup(database_url, 12)
    # "INV-001", "INV001" and "inv 001" are the same bill.
    numbers = ["INV-001", "INV001", "inv 001"]

    async def submit(i: int, invoice_id: uuid.UUID):  # noqa: ANN202
        async with sessions.begin() as session:
            return await claim_bill(session, invoice_id, bill_keys(vendor_id, numbers[i % 3], None, None))

    results = await asyncio.gather(*(submit(i, invoice_id) for i, invoice_id in enumerate(ids)))
    owners = [invoice_id for invoice_id, r in zip(ids, results, strict=True) if r.duplicate_of is None]
    assert len(owners) == 1
    assert {r.duplicate_of for r in results if r.duplicate_of} == {owners[0]}
    await engine.dispose()


async def test_same_amount_and_date_under_another_number_is_a_possible_duplicate(database_url: str) -> None:
    engine, sessions, vendor_id, (first, second) = await _setup(database_url, 2)
    async with sessions.begin() as session:
        assert (await claim_bill(session, first, bill_keys(vendor_id, "A-1", 1000, "2024-03-05"))).duplicate_of is None
        result = await claim_bill(session, second, bill_keys(vendor_id, "A-2", 1000, "2024-03-05"))
    assert result.duplicate_of is None and result.possible_duplicate_of == first
    await engine.dispose()


async def test_released_claims_let_a_corrected_bill_through(database_url: str) -> None:
    engine, sessions, vendor_id, (first, second) = await _setup(database_url, 2)
    keys = bill_keys(vendor_id, "A-1", 1000, "2024-03-05")
    async with sessions.begin() as session:
        await claim_bill(session, first, keys)
        await release_claims(session, first)
        result = await claim_bill(session, second, keys)
        assert result.duplicate_of is None and result.possible_duplicate_of is None
        assert await session.scalar(select(func.count()).select_from(InvoiceClaim)) == 2
    await engine.dispose()
