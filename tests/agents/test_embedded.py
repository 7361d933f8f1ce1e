"""The same path on embedded defaults (SQLite, in-process EVM): what `treasurer demo` runs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from api.demo import run_demo


async def test_demo_runs_every_sample_on_embedded_defaults(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    rows = {row["file"]: row for row in await run_demo(tmp_path / "demo", console)}

    assert rows["01-acme-hosting.txt"]["decision"] == "paid"
    assert rows["01-acme-hosting.txt"]["tx_hash"].startswith("0x")
    assert rows["02-northwind.txt"]["decision"] == "paid"
    assert rows["03-globex-over-limit.txt"]["decision"] == "pending_approval"
    assert rows["04-unknown-vendor.txt"]["decision"] == "blocked"
    assert rows["05-malformed.txt"]["decision"] == "blocked"
    assert rows["06-acme-resubmitted.txt"]["decision"] == "blocked"
    assert "duplicate" in rows["06-acme-resubmitted.txt"]["reason"]
    output = console.export_text()
    assert "treasury balance: 997,769.50 tUSD" in output
    assert "runway: 13.67 months" in output
