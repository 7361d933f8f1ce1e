"""Reading uploaded documents off the event loop, a bounded number at a time.

A scan costs tesseract up to a minute per page, and a PDF's text layer can take seconds to lay out. Read on the
shared default thread pool, a burst of scans would hold every thread that password checks, anchor-file appends and
other short jobs wait for, and each reading would spawn its own tesseract: the server slows for everyone while one
sender's documents are read. Uploads are therefore read on their own small pool, and past a bounded queue the next
upload is refused at once with 503 and `Retry-After` instead of waiting behind the others. Nothing is stored before
a document is read, so a refused upload loses nothing and is simply sent again.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor

from agents.extraction.uploads import ReadDocument, read_upload
from finance.errors import TreasurerError

_RETRY_AFTER_SECONDS = 30


class ReadersBusy(TreasurerError):
    """Every document reader is busy and the queue is full: the upload was not stored; send it again later."""

    status_code = 503
    code = "readers_busy"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(_RETRY_AFTER_SECONDS)}


class DocumentReaders:
    """At most `workers` documents read at once, at most `waiting` more queued behind them."""

    def __init__(self, workers: int, waiting: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="document-reader")
        self._capacity = workers + waiting
        self._taken = 0

    @property
    def taken(self) -> int:
        """Documents being read or queued, including those whose sender has gone away."""
        return self._taken

    async def read(self, data: bytes, filename: str | None, content_type: str | None) -> ReadDocument:
        if self._taken >= self._capacity:
            raise ReadersBusy(
                f"{self._taken} documents are being read or are waiting; send this one again in "
                f"{_RETRY_AFTER_SECONDS} s (nothing was stored)"
            )
        loop = asyncio.get_running_loop()
        self._taken += 1
        job = self._executor.submit(read_upload, data, filename, content_type)

        # The slot is given back when the reading ends, not when the request does: a sender who disconnects
        # cancels only its wait, the thread reads on, and counting it keeps the queue's bound true.
        def release(_: Future[ReadDocument]) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._release)

        job.add_done_callback(release)
        return await asyncio.wrap_future(job)

    def _release(self) -> None:
        self._taken -= 1

    def close(self) -> None:
        """At shutdown: queued readings are dropped (their requests are ending too; nothing of theirs was
        stored), a reading under way finishes on its thread without holding the shutdown."""
        self._executor.shutdown(wait=False, cancel_futures=True)
