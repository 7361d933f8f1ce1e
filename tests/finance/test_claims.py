import asyncio
import uuid

from sqlalchemy import func, select

from finance.claims import BillLine, ClaimResult, bill_keys, claim_bill, loose_invoice_number, release_claims
from finance.db import create_engine, session_factory
from finance.identity import Actor
from finance.invoices import InvoiceRepository
from finance.models import InvoiceClaim
from finance.vendors import VendorRepository


async def _setup(database_url: str, invoices: int):
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

    async def submit(i: int, invoice_id: uuid.UUID):
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
        assert await session.scalar(select(func.count()).select_from(InvoiceClaim)) == len(keys)
    await engine.dispose()


async def test_a_reissued_bill_is_caught_however_it_was_changed(database_url: str) -> None:
    """The bill that was once paid twice: a zero dropped from its number and dated a day later; or a new number
    and a date weeks later but the same amount and lines; or the very same text sent again."""
    engine, sessions, vendor_id, ids = await _setup(database_url, 5)
    lines = [BillLine("Managed hosting, March", "2000.00"), BillLine("Support", "450.00")]
    async with sessions.begin() as session:
        first = await claim_bill(
            session,
            ids[0],
            bill_keys(vendor_id, "HCS-2024-0117", 245000, "2024-03-05", text="HCS bill\nTotal 2,450.00", lines=lines),
        )
        assert first == ClaimResult(None, None)
        zero_dropped = await claim_bill(session, ids[1], bill_keys(vendor_id, "HCS-2024-117", 245000, "2024-03-06"))
        assert zero_dropped.duplicate_of is None and zero_dropped.possible_duplicate_of == ids[0]
        assert "loosely" in zero_dropped.why_possible
        same_lines = await claim_bill(
            session, ids[2], bill_keys(vendor_id, "HCS-2024-200", 245000, "2024-03-19", lines=list(reversed(lines)))
        )
        assert same_lines.possible_duplicate_of == ids[0] and "line items" in same_lines.why_possible
        same_text = await claim_bill(
            session, ids[3], bill_keys(vendor_id, "HCS-9", 1, "2025-01-01", text="HCS  BILL\ntotal 2,450.00 ")
        )
        assert same_text.duplicate_of == ids[0]
        po_as_number = await claim_bill(session, ids[4], bill_keys(vendor_id, "PO-88123", 245000, "2024-03-08"))
        assert po_as_number.possible_duplicate_of == ids[0] and "within 3 days" in po_as_number.why_possible
    await engine.dispose()


async def test_recurring_bills_of_the_same_amount_are_not_duplicates(database_url: str) -> None:
    """A weekly bill of the same amount, and a monthly subscription with the same lines every month."""
    engine, sessions, vendor_id, ids = await _setup(database_url, 6)
    lines = [BillLine("Team plan, 25 seats", "500.00")]
    async with sessions.begin() as session:
        for n, day in enumerate(("2024-03-01", "2024-03-08", "2024-03-15")):
            result = await claim_bill(session, ids[n], bill_keys(vendor_id, f"W-{n + 10}", 50000, day))
            assert result == ClaimResult(None, None), day
        for n, day in enumerate(("2024-01-31", "2024-02-29", "2024-03-31"), start=3):
            keys = bill_keys(vendor_id, f"M-{n}", 70000, day, lines=lines)
            assert await claim_bill(session, ids[n], keys) == ClaimResult(None, None), day
    await engine.dispose()


async def test_racing_reissues_inside_the_window_have_one_clean_owner(database_url: str) -> None:
    engine, sessions, vendor_id, ids = await _setup(database_url, 8)

    async def submit(n: int, invoice_id: uuid.UUID) -> ClaimResult:
        async with sessions.begin() as session:
            day = f"2024-05-{10 + n % 4:02d}"
            return await claim_bill(session, invoice_id, bill_keys(vendor_id, f"R-{n}", 777700, day))

    results = await asyncio.gather(*(submit(n, i) for n, i in enumerate(ids)))
    clean = [r for r in results if r.possible_duplicate_of is None and r.duplicate_of is None]
    assert len(clean) == 1, results
    await engine.dispose()


def test_loose_numbers() -> None:
    assert loose_invoice_number("INV-2024-0117") == loose_invoice_number("2024/117") == "2024-117"
    assert loose_invoice_number("No. 000") == "0"
    assert loose_invoice_number("HCS-2024-117") != loose_invoice_number("HCS-2024-118")
