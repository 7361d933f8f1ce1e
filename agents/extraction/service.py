"""The one entry point for reading an invoice: the LLM when one is configured, the offline rules otherwise.

Whatever engine answers, its values are grounded in the text, and an LLM reading is cross-checked against the
offline one. When the LLM fails for any reason the offline reading stands in, flagged. Any flag makes the result
untrusted, which sends the invoice to a human rather than to payment.

An e-invoice (text source "einvoice") is read from its XML instead, whatever engine was asked for: its values
are exact data, so no model is asked to read them and none can override them. A Factur-X PDF's visible text is
read offline and checked against the XML; any field on which they disagree is flagged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from agents.extraction.consistency import check_consistency, is_consistency_flag
from agents.extraction.einvoice.checks import einvoice_flags
from agents.extraction.einvoice.crosscheck import cross_check as einvoice_cross_check
from agents.extraction.einvoice.fields import einvoice_fields
from agents.extraction.einvoice.read import einvoice_of_document
from agents.extraction.einvoice.render import render_einvoice
from agents.extraction.grounding import GroundingReport, cross_check, ground
from agents.extraction.llm import LLMError, LLMExtractor, LLMNotConfigured
from agents.extraction.offline import extract_offline
from agents.extraction.pdf import is_pdf
from agents.extraction.reading_window import evidence_in_source, reading_window
from agents.extraction.schemas import InvoiceFields
from finance.errors import InvalidInvoice, TreasurerError
from finance.lookalikes import lookalike_problem
from finance.settings import Settings

log = logging.getLogger(__name__)

Engine = Literal["auto", "llm", "offline"]
OVERSIZED = "oversized_text"
# The offline rules cost about 5 µs of CPU per character, linear in the text: a one-page invoice is read
# faster than a thread hand-off, but at 2,000 characters they would already hold the event loop ~10 ms, and
# a 1 MB text for seconds. Above this the rules run in a worker thread, so health probes and other requests
# keep being answered (the regex engine holds the GIL for one scan at a time, well under a second at 1 MB).
_THREAD_ABOVE_CHARS = 2_000
T = TypeVar("T")


@dataclass(frozen=True)
class ExtractionResult:
    fields: InvoiceFields
    engine: Literal["llm", "offline", "einvoice"]
    # "llm_failed: <reason>", "ungrounded:<field>", "disagreement:<field>", "einvoice_mismatch:<field>",
    # "ocr_uncertain:<field>", ...
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

    async def extract(
        self, text: str, *, engine: Engine = "auto", text_source: str = "text", document: bytes | None = None
    ) -> ExtractionResult:
        """Read `text` with `engine` ("auto": the LLM when a model is configured, else the offline rules); an
        e-invoice (`text_source` "einvoice") is read from its `document`'s XML."""
        if engine not in ("auto", "llm", "offline"):
            raise TreasurerError(f"unknown extraction engine {engine!r}: use auto, llm or offline")
        if engine == "llm" and self._llm is None:
            raise LLMNotConfigured("the llm extraction engine needs a model: set TREASURER_LLM_MODEL")
        if text_source == "einvoice":
            # Parsing XML (and a PDF) is CPU-bound: always off the event loop.
            return await asyncio.to_thread(_read_einvoice, text, document)
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

        grounded = await _off_loop_if_long(text, _ground_answer, answer, text)
        # The page checked against itself does not depend on who read it: the LLM answer carries those flags too,
        # and so does a text too long to be read whole.
        consistency = [flag for flag in offline.flags if is_consistency_flag(flag) or flag.startswith(OVERSIZED)]
        flags = [*grounded.flags, *cross_check(grounded.fields, offline.fields), *consistency]
        flags.extend(flag for flag in lookalike_flags(grounded.fields) if flag not in flags)
        return ExtractionResult(grounded.fields, "llm", tuple(flags))

    @staticmethod
    def _fallback(fields: InvoiceFields, flags: list[str], reason: str) -> ExtractionResult:
        reason = " ".join(reason.split())[:200]
        log.warning("LLM extraction failed, using the offline reading: %s", reason)
        return ExtractionResult(fields, "offline", (f"llm_failed: {reason}", *flags))


def _read_einvoice(text: str, document: bytes | None) -> ExtractionResult:
    try:
        if document is None:
            raise InvalidInvoice("the e-invoice's document was not stored")
        einvoice = einvoice_of_document(document)
    except InvalidInvoice as exc:
        # Checked at upload, so only a lost or altered document lands here: read its text, flagged for a person.
        offline = _read_offline(text)
        return ExtractionResult(offline.fields, "offline", (f"einvoice_unreadable: {exc.message}", *offline.flags))
    flags = einvoice_flags(einvoice)
    if is_pdf(document) and text != render_einvoice(einvoice):
        # The visible text, read independently of the XML. Its own contradictions count too (a page titled
        # "credit note" over an XML saying invoice); an ambiguous decimal mark does not, the XML settles it.
        visible = _read_offline(text)
        flags += einvoice_cross_check(einvoice, visible.fields)
        flags += [f for f in visible.flags if is_consistency_flag(f) and not f.startswith("ambiguous:")]
    fields = einvoice_fields(einvoice, text)
    # Exact data can still name the seller in look-alike letters: the XML is the vendor's word, not the registry's.
    flags += lookalike_flags(fields)
    return ExtractionResult(fields, "einvoice", tuple(dict.fromkeys(flags)))


def _read_offline(text: str) -> GroundingReport:
    window = reading_window(text)
    read = window.text if window is not None else text
    # Grounded too, although the rules only report what they read: a safety net against a rule's slip.
    fields = extract_offline(read)
    report = ground(fields, read)
    # Where the document contradicts itself (lines vs total, two totals, words vs digits, a credit note...).
    report.flags.extend(check_consistency(read, fields))
    report.flags.extend(lookalike_flags(report.fields))
    if window is None:
        return report
    return GroundingReport(evidence_in_source(report.fields, window), [window.flag(), *report.flags])


def _ground_answer(answer: InvoiceFields, text: str) -> GroundingReport:
    """A model's answer grounded in what the rules read: it is shown at most the text's first pages anyway."""
    window = reading_window(text)
    if window is None:
        return ground(answer, text)
    report = ground(answer, window.text)
    return GroundingReport(evidence_in_source(report.fields, window), report.flags)


def lookalike_flags(fields: InvoiceFields) -> list[str]:
    """A vendor name in look-alike letters or with invisible characters is never trusted on its own."""
    problem = lookalike_problem(fields.vendor)
    return [f"confusable:vendor: {problem}"] if problem else []


async def _off_loop_if_long(text: str, function: Callable[..., T], *args: object) -> T:
    if len(text) > _THREAD_ABOVE_CHARS:
        return await asyncio.to_thread(function, *args)
    return function(*args)
