"""Where the offline extractor spends its time: cProfile over the DEV texts and over a 1 MB adversarial text.

The adversarial text is one of the shapes `tests/agents/extraction/test_bounded_work.py` holds the extractor's
work linear on (the ones a vendor can send to slow every reader of its invoice down).
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.extraction.offline import extract_offline

MB = 1_000_000
_REPO = str(Path(__file__).resolve().parents[1]) + "/"


@dataclass(frozen=True)
class HotSpot:
    function: str  # path:line(name), relative to the repository
    calls: int
    own_seconds: float  # time inside the function itself
    cumulative_seconds: float  # including what it calls


def profile(texts: list[str], top: int = 12) -> tuple[float, list[HotSpot]]:
    """CPU seconds to read every text once under the profiler, and the `top` functions by own time."""
    # The profiler's clock is CPU time too, so its per-function figures add up to the total printed beside them.
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for text in texts:
        extract_offline(text)
    profiler.disable()
    elapsed = time.process_time() - started
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(HotSpot(f"{path.replace(_REPO, '')}:{line}({name})", calls, own, cumulative))
    rows.sort(key=lambda spot: spot.own_seconds, reverse=True)
    return elapsed, rows[:top]


def adversarial_texts() -> dict[str, Callable[[int], str]]:
    # Imported here: the shapes live with the test that bounds them, and only a profile run needs them.
    from tests.agents.extraction.test_bounded_work import ADVERSARIAL

    return dict(ADVERSARIAL)


def format_hot_spots(title: str, elapsed: float, spots: list[HotSpot]) -> str:
    total = sum(spot.own_seconds for spot in spots) or 1.0
    lines = [f"{title}: {1000 * elapsed:.0f} CPU ms under the profiler; top functions by own time"]
    lines.append(f"  {'own ms':>8} {'cum ms':>8} {'calls':>9}  function")
    for spot in spots:
        lines.append(
            f"  {1000 * spot.own_seconds:8.1f} {1000 * spot.cumulative_seconds:8.1f} {spot.calls:9d}  {spot.function}"
        )
    lines.append(f"  (the {len(spots)} lines above: {1000 * total:.0f} ms of own time)")
    return "\n".join(lines)
