"""Benchmark: the offline extractor on the DEV invoices: field accuracy and documents per second.

    python bench/extraction.py [PATH/TO/invoices.jsonl] [--repeat 5]

The accuracy is the same figure `treasurer eval extraction` prints; the speed is the mean over
`--repeat` passes of the whole set, with the slowest document named (layouts differ a lot).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.extraction.evaluation import format_report, load_records, score_dataset  # noqa: E402
from agents.extraction.offline import extract_offline  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "invoices-dev" / "invoices.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    records = load_records(args.dataset)
    texts = [r["text"] for r in records]

    score = score_dataset(records, extract_offline)

    per_document: dict[str, float] = {}
    started = time.perf_counter()
    for _ in range(args.repeat):
        for record, text in zip(records, texts, strict=True):
            one = time.perf_counter()
            extract_offline(text)
            per_document[record["id"]] = max(per_document.get(record["id"], 0.0), time.perf_counter() - one)
    elapsed = time.perf_counter() - started

    documents = len(texts) * args.repeat
    slowest = max(per_document, key=per_document.get)
    print(format_report(score).rstrip().splitlines()[-1])
    print(
        f"offline extractor: {documents / elapsed:.1f} documents/s, {1000 * elapsed / documents:.1f} ms mean, "
        f"slowest {slowest} {1000 * per_document[slowest]:.1f} ms"
    )


if __name__ == "__main__":
    main()
