"""The one entry point for reading an invoice: the LLM when one is configured, the offline rules otherwise.

Whatever engine answers, its values are grounded in the text, and an LLM reading is cross-checked against the
offline one. When the LLM fails for any reason the offline reading stands in, flagged. Any flag makes the result
untrusted, which sends the invoice to a human rather than to payment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from agents.extraction.consistency import check_consistency, is_consistency_flag
from agents.extraction.grounding import GroundingReport, cross_check, ground
from agents.extraction.llm import LLMError, LLMExtractor, LLMNotConfigured
from agents.extraction.offline import extract_offline
from agents.extraction.schemas import InvoiceFields
from finance.errors import TreasurerError
from finance.settings import Settings

log = logging.getLogger(__name__)

Engine = Literal["auto", "llm", "offline"]
# The offline rules cost about 5 µs of CPU per character, linear in the text: a one-page invoice is read
# faster than a thread hand-off, but at 2,000 characters they would already hold the event loop ~10 ms, and
# a 1 MB text for seconds. Above this the rules run in a worker thread, so health probes and other requests
# keep being answered (the regex engine holds the GIL for one scan at a time, well under a second at 1 MB).
_THREAD_ABOVE_CHARS = 2_000
T = TypeVar("T")


@dataclass(frozen=True)
class ExtractionResult:
    fields: InvoiceFields
    engine: Literal["llm", "offline"]
    # "llm_failed: <reason>", "ungrounded:<field>", "disagreement:<field>", "ocr_uncertain:<field>", ...
    flags: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        """True only when nothing was flagged: anything flagged goes to a human, never straight to payment."""
        return not self.flags

    def with_flags(self, flags: list[str]) -> ExtractionResult:
        """This result with `flags` added: checks made outside the extractor (an OCR reading's doubts) count too."""
        return replace(self, flags=(*self.flags, *flags)) if flags else self


class InvoiceExtractor:
    def __init__(self, settings: Settings, llm: LLMExtractor | None = None) -> None:
        self._owns_llm = llm is None and bool(settings.llm_model)
        self._llm = llm if llm is not None else (LLMExtractor(settings) if settings.llm_model else None)

    @property
    def llm_configured(self) -> bool:
        return self._llm is not None

    async def aclose(self) -> None:
        """Release the LLM client's connections, if this extractor built it."""
        if self._owns_llm and self._llm is not None:
            await self._llm.aclose()

    async def extract(self, text: str, *, engine: Engine = "auto") -> ExtractionResult:
        """Read `text` with `engine` ("auto": the LLM when a model is configured, else the offline rules)."""
        if engine not in ("auto", "llm", "offline"):
            raise TreasurerError(f"unknown extraction engine {engine!r}: use auto, llm or offline")
        if engine == "llm" and self._llm is None:
            raise LLMNotConfigured("the llm extraction engine needs a model: set TREASURER_LLM_MODEL")
        # Run in every case: it is the result without an LLM, the fallback when the LLM fails, and the
        # independent second reading an LLM answer is cross-checked against.
        offline = await _off_loop_if_long(text, _read_offline, text)
        if engine == "offline" or self._llm is None:
            return ExtractionResult(offline.fields, "offline", tuple(offline.flags))

        try:
            answer = await self._llm.extract(text)
        except LLMError as exc:
            return self._fallback(offline.fields, offline.flags, exc.message)
        except Exception as exc:  # a bug or an unforeseen client error must not block intake: a human will look
            log.exception("LLM extraction raised unexpectedly")
            return self._fallback(offline.fields, offline.flags, f"{type(exc).__name__}: {exc}")

        grounded = await _off_loop_if_long(text, ground, answer, text)
        # The page checked against itself does not depend on who read it: the LLM answer carries those flags too.
        consistency = [flag for flag in offline.flags if is_consistency_flag(flag)]
        flags = [*grounded.flags, *cross_check(grounded.fields, offline.fields), *consistency]
        return ExtractionResult(grounded.fields, "llm", tuple(flags))

    @staticmethod
    def _fallback(fields: InvoiceFields, flags: list[str], reason: str) -> ExtractionResult:
        reason = " ".join(reason.split())[:200]
        log.warning("LLM extraction failed, using the offline reading: %s", reason)
        return ExtractionResult(fields, "offline", (f"llm_failed: {reason}", *flags))


def _read_offline(text: str) -> GroundingReport:
    # Grounded too, although the rules only report what they read: a safety net against a rule's slip.
    fields = extract_offline(text)
    report = ground(fields, text)
    # Where the document contradicts itself (lines vs total, two totals, words vs digits, a credit note...).
    report.flags.extend(check_consistency(text, fields))
    return report


async def _off_loop_if_long(text: str, function: Callable[..., T], *args: object) -> T:
    if len(text) > _THREAD_ABOVE_CHARS:
        return await asyncio.to_thread(function, *args)
    return function(*args)
