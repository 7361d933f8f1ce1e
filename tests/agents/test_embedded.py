"""The same path on embedded defaults (SQLite, in-process EVM): what `treasurer demo` runs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from api.demo import run_demo


async def test_demo_runs_every_sample_on_embedded_defaults(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    rows = {row["file"]: row for row in await run_demo(tmp_path / "demo", console)}

    # Every sample vendor is a new payee: its first payment waits for someone who did not register or verify
    # it. The demo's approver clicks each mailed link, and the invoice is then paid.
    for name in ("01-acme-hosting.txt", "02-northwind.txt", "03-globex-over-limit.txt"):
        assert rows[name]["decision"] == "pending_approval", rows[name]
        assert rows[name]["approved_status"] == "paid", rows[name]
    assert "nothing has been paid to this payout address" in rows["01-acme-hosting.txt"]["reason"]
    assert "over the per-invoice limit" in rows["03-globex-over-limit.txt"]["reason"]
    assert rows["04-unknown-vendor.txt"]["decision"] == "blocked"
    assert rows["05-malformed.txt"]["decision"] == "blocked"
    assert rows["06-acme-resubmitted.txt"]["decision"] == "blocked"
    assert "duplicate" in rows["06-acme-resubmitted.txt"]["reason"]
    output = console.export_text()
    mails = list((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert len(mails) == 3 and all("To: controller@example.com" in m.read_text() for m in mails)
    assert "Approve: http://127.0.0.1:8000/approvals/link?token=" in output
    assert "treasury balance: 949,769.50 tUSD" in output  # 1,000,000 - 1,250 - 980.50 - 48,000
    assert "runway: 37.99 months" in output
