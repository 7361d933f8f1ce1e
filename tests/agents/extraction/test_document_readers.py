"""The upload readers' pool: bounded, refusing at once past its queue, and counting a reading until it ends."""

from __future__ import annotations

import asyncio

import pytest

from agents.extraction import document_readers
from agents.extraction.document_readers import DocumentReaders, ReadersBusy
from tests.fixtures.document_gate import Gate

TEXT = b"Invoice INV-7\nTotal: 10.00 USD\n"


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate()
    monkeypatch.setattr(document_readers, "read_upload", gate.read)
    return gate


async def test_past_the_queue_an_upload_is_refused_at_once_and_the_rest_are_read(gate: Gate) -> None:
    readers = DocumentReaders(workers=1, waiting=1)
    running = asyncio.create_task(readers.read(TEXT, None, "text/plain"))
    await gate.wait_entered(1)
    queued = asyncio.create_task(readers.read(TEXT, None, "text/plain"))
    await asyncio.sleep(0)

    with pytest.raises(ReadersBusy) as refused:
        await readers.read(TEXT, None, "text/plain")
    assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "30"}

    gate.opened.set()
    first, second = await asyncio.gather(running, queued)
    assert first.text == second.text == TEXT.decode()
    await asyncio.sleep(0)  # the release is scheduled from the reader's thread
    assert readers.taken == 0
    assert (await readers.read(TEXT, None, "text/plain")).text == TEXT.decode()
    readers.close()


async def test_a_sender_who_goes_away_keeps_its_slot_until_the_reading_ends(gate: Gate) -> None:
    # Otherwise a client that connects, uploads a large scan and disconnects, over and over, would queue
    # unbounded work behind a pool that believes itself idle.
    readers = DocumentReaders(workers=1, waiting=0)
    abandoned = asyncio.create_task(readers.read(TEXT, None, "text/plain"))
    await gate.wait_entered(1)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned

    with pytest.raises(ReadersBusy):
        await readers.read(TEXT, None, "text/plain")

    gate.opened.set()
    for _ in range(100):  # the thread finishes its reading, then gives the slot back
        if readers.taken == 0:
            break
        await asyncio.sleep(0.05)
    assert readers.taken == 0
    assert (await readers.read(TEXT, None, "text/plain")).text == TEXT.decode()
    readers.close()
