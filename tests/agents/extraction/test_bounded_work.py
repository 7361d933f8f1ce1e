"""The offline extractor's work grows linearly with its input, whatever the input looks like.

A vendor controls the text, so a text built to make a rule rescan its line (41 KB of "Total: 1 " once took a
minute) is an outage, not a slow invoice. Each adversarial text is read at 125 KB and at 1 MB, the largest text
the API accepts: eight times the text must cost the rules about eight times the CPU (quadratic work would cost 64
times), and since the rules read a long text only at its two ends (agents.extraction.reading_window), 1 MB costs
under a second. CPU time, not wall time, so other processes on the machine do not count.
"""

from __future__ import annotations

import random
import signal
import string
import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from agents.extraction.consistency import check_consistency
from agents.extraction.offline import extract_offline
from agents.extraction.service import _read_offline

MB = 1_000_000


def _repeated_total(size: int) -> str:
    return ("Total: 1 " * (size // 9 + 1))[:size]


def _short_numeric_lines(size: int) -> str:
    rng = random.Random(1)
    return "\n".join(f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}" for _ in range(size // 6 + 1))[:size]


def _one_long_line_of_labels_and_amounts(size: int) -> str:
    rng = random.Random(2)
    words = ["Total", "Invoice No", "Date:", "1,234.56", "EUR", "due", "GmbH", "Bill to:", "12.03.2024", "from"]
    return " ".join(rng.choice(words) for _ in range(size // 5 + 1))[:size]


def _many_labelled_lines(size: int) -> str:
    rng = random.Random(3)
    lines = [
        "Total: 12.00", "Invoice No: A-1", "Date: 2024-01-01", "Due: 01.02.2024", "Subtotal 3.00", "VAT 19% 1.00",
        "Amount due 4.00", "IBAN DE89 3704 0044 0532 0130 00", "Seller: Foo GmbH", "Bill to:   Bar Ltd",
    ]  # fmt: skip
    return "\n".join(rng.choice(lines) for _ in range(size // 15 + 1))[:size]


def _identifier_lookalikes(size: int) -> str:
    rng = random.Random(4)
    parts = []
    for n in range(size // 40 + 1):
        if n % 2:
            parts.append("IBAN: DE" + " ".join("".join(rng.choices(string.digits, k=4)) for _ in range(5)))
        else:
            parts.append("pay to 0x" + "".join(rng.choices("0123456789abcdef", k=40)))
    return "\n".join(parts)[:size]


def _address_blocks_and_domains(size: int) -> str:
    """Names over streets in wide columns at the top (each a letterhead candidate) and mail addresses."""
    names = "Acme Widgets Ltd  info@acme.example  " * (size // 74 + 1)
    streets = "12 High Street  www.acme.example   " * (size // 74 + 1)
    return f"{names}\n{streets}"[:size]


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "repeated total label": _repeated_total,
    "short numeric lines": _short_numeric_lines,
    "one long line of labels": _one_long_line_of_labels_and_amounts,
    "many labelled lines": _many_labelled_lines,
    "identifier look-alikes": _identifier_lookalikes,
    "address blocks and domains": _address_blocks_and_domains,
}


class _OverBudget(Exception):
    pass


def _over_budget(_signal: int, _frame: object) -> None:
    raise _OverBudget


def _read_whole(text: str) -> None:
    """The rules and the consistency checks on every character, as they run on a text short enough to read whole."""
    check_consistency(text, extract_offline(text))


def _cpu_seconds(text: str, budget: float = 30.0, read: Callable[[str], object] = _read_offline) -> float:
    """CPU seconds to read `text`; a regression to quadratic work fails after `budget` CPU seconds, not hours."""
    previous = signal.signal(signal.SIGPROF, _over_budget)
    signal.setitimer(signal.ITIMER_PROF, budget)
    started = time.process_time()
    try:
        read(text)
    except _OverBudget:
        pytest.fail(f"reading {len(text)} characters took more than {budget:.0f} s of CPU")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return time.process_time() - started


def test_the_reported_41_kb_line_is_read_in_well_under_a_second() -> None:
    assert _cpu_seconds("ACME Hosting GmbH\nInvoice INV-1\n" + _repeated_total(41_000), budget=5) < 1.0


@pytest.mark.parametrize("build", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_the_rules_are_linear_in_the_text_they_read(build: Callable[[int], str]) -> None:
    # Measured on the rules themselves, not through the reading window, which would hide a quadratic rule.
    small_text, large_text = build(MB // 32), build(MB // 4)
    # The best of two of each: on a shared machine one reading can be slowed by a neighbour's cache traffic, and a
    # ratio of two single readings doubles that noise.
    small = min(_cpu_seconds(small_text, read=_read_whole), _cpu_seconds(small_text, read=_read_whole))
    large = min(_cpu_seconds(large_text, read=_read_whole), _cpu_seconds(large_text, read=_read_whole))
    assert large < 12 * max(small, 0.05), (
        f"8x the text took {large / small:.1f}x the CPU ({small:.2f} s -> {large:.2f} s)"
    )


@pytest.mark.parametrize("build", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_a_megabyte_of_adversarial_text_is_read_in_under_a_second(build: Callable[[int], str]) -> None:
    text = build(MB)
    # The best of two: CPU time, but a shared machine's caches still make a single reading noisy.
    seconds = min(_cpu_seconds(text, budget=10), _cpu_seconds(text, budget=10))
    assert seconds < 1.0, f"1 MB took {seconds:.2f} s of CPU"
    flags = _read_offline(text).flags
    assert flags and flags[0].startswith("oversized_text"), flags


def test_a_long_text_is_read_at_both_ends_and_held_for_a_person() -> None:
    header = "Harbour Freight Services Ltd\nInvoice No: HF-2209\nInvoice date: 2025-03-04\n\n"
    terms = "\n".join(
        f"Clause {n}: the carrier's liability is limited as set out in annex {n % 7}." for n in range(2_000)
    )
    text = header + terms + "\n\nTotal due: EUR 1,240.00\n"
    report = _read_offline(text)
    assert report.fields.invoice_number == "HF-2209"
    assert report.fields.total == Decimal("1240.00")
    start, end = report.fields.evidence["total"].span
    assert "1,240.00" in text[start:end] and end > len(text) - 20
    assert report.flags[0].startswith("oversized_text") and f"{len(text):,} characters" in report.flags[0]
