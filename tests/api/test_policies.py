"""The ops API for policies: versioned, validated, dry-run, published atomically."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from api.demo import sample_invoices
from finance.settings import Settings
from tests.fixtures.bills import acme_bill
from tests.fixtures.credentials import token_headers

SAMPLES = dict(sample_invoices())


async def test_ops_endpoints_need_a_key_and_the_role(client: httpx.AsyncClient, cfo: dict) -> None:
    assert (await client.get("/api/policies/active")).status_code == 401
    bogus = {"Authorization": "Bearer trk_not-a-real-key"}
    assert (await client.get("/api/policies/active", headers=bogus)).status_code == 401
    # A CFO may read the policy but not change it.
    assert (await client.get("/api/policies/active", headers=cfo)).status_code == 200
    response = await client.post("/api/settings/limit", json={"new_limit": "1"}, headers=cfo)
    assert response.status_code == 403 and "ops" in response.json()["detail"]


async def test_starter_policy_is_version_one(client: httpx.AsyncClient, ops: dict) -> None:
    history = (await client.get("/api/policies", headers=ops)).json()
    assert history[-1]["version"] == 1 and history[-1]["published_by"] == "treasurer (starter policy)"
    # The test company's own version 2 (tests/fixtures/vendors.py) trusts the sample vendors it has paid before.
    active = (await client.get("/api/policies/active", headers=ops)).json()
    assert active["version"] == 2 and active["status"] == "active"
    assert {r["id"] for r in active["document"]["rules"]} >= {"per-invoice-limit", "within-limit", "funds"}
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "5000"}


@pytest.mark.parametrize("bad", ["-5", "0", "lots", "1e16", "NaN", None])
async def test_bad_limits_are_422(client: httpx.AsyncClient, ops: dict, bad: str | None) -> None:
    response = await client.post("/api/settings/limit", json={"new_limit": bad}, headers=ops)
    assert response.status_code == 422
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "5000"}


async def test_raising_the_limit_waits_for_a_second_ops_user(
    client: httpx.AsyncClient, bootstrapped: Settings, cfo: dict, ops: dict, second_ops: dict
) -> None:
    over = acme_bill("6000.00")
    assert (await client.post("/api/process-invoice", json={"raw_text": over}, headers=cfo)).json()["status"] == (
        "PAUSED_FOR_APPROVAL"
    )
    response = await client.post("/api/settings/limit", json={"new_limit": "7500"}, headers=ops)
    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["status"] == "pending_approval" and pending["new_limit"] == "7500"
    assert "rule per-invoice-limit: max_amount 5000 -> 7500" in pending["loosenings"]
    change = pending["change_id"]
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "5000"}
    proposals = (await client.get("/api/policies/proposals", headers=second_ops)).json()
    assert [(p["id"], p["status"], p["proposed_by"]) for p in proposals] == [
        (change, "proposed", "ops.one@example.com")
    ]

    # The proposer cannot approve: not with the key that proposed, nor signed in with a token as the same user.
    same_person = await token_headers(bootstrapped, "ops.one@example.com", "ops")
    for headers in (ops, same_person):
        refused = await client.post(f"/api/policies/proposals/{change}/approve", headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "four_eyes", refused.text
    # Admins manage users and keys, not controls.
    admin = await token_headers(bootstrapped, "admin.person@example.com", "admin")
    refused = await client.post(f"/api/policies/proposals/{change}/approve", headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "5000"}

    approved = await client.post(f"/api/policies/proposals/{change}/approve", headers=second_ops)
    assert approved.status_code == 200, approved.text
    assert approved.json()["version"] == 3 and approved.json()["approved_by"] == "ops.two@example.com"
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "7500"}
    assert (await client.get("/api/policies/proposals", headers=ops)).json() == []

    # Another bill (number, and a date weeks later), so it is not held as a possible duplicate of the first.
    again = over.replace("INV-2024-001", "INV-2024-077").replace("2024-03-05", "2024-04-02")
    paid = await client.post("/api/process-invoice", json={"raw_text": again}, headers=cfo)
    assert paid.status_code == 200, paid.text

    history = (await client.get("/api/policies", headers=ops)).json()
    assert [(v["version"], v["status"]) for v in history] == [(3, "active"), (2, "retired"), (1, "retired")]
    assert history[0]["proposed_by"] == "ops.one@example.com" and history[0]["published_by"] == "ops.two@example.com"
    decisions = (await client.get("/api/decisions", params={"step": "policy"}, headers=ops)).json()
    assert [(d["outcome"], d["actor"]) for d in decisions["items"]][-2:] == [
        ("policy_proposed", "ops.one@example.com"),
        ("policy_approved", "ops.two@example.com"),
    ]


async def test_lowering_the_limit_applies_at_once(client: httpx.AsyncClient, ops: dict) -> None:
    response = await client.post("/api/settings/limit", json={"new_limit": "2500"}, headers=ops)
    assert response.status_code == 200
    assert response.json() == {"status": "updated", "new_limit": "2500", "policy_version": 3}
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "2500"}


async def test_a_draft_that_removes_the_approval_step_is_a_proposal(
    client: httpx.AsyncClient, ops: dict, second_ops: dict
) -> None:
    active = (await client.get("/api/policies/active", headers=ops)).json()["document"]
    no_limit = {**active, "rules": [r for r in active["rules"] if r["id"] != "per-invoice-limit"]}
    draft = (await client.post("/api/policies/drafts", json={"document": no_limit}, headers=ops)).json()
    response = await client.post(f"/api/policies/drafts/{draft['id']}/publish", headers=ops)
    assert response.status_code == 202, response.text
    proposal = response.json()
    assert proposal["status"] == "proposed" and proposal["version"] is None and proposal["base_version"] == 2
    assert proposal["loosenings"] == ["rule per-invoice-limit: removed (amount_limit, action require_approval)"]
    assert (await client.get("/api/policies/active", headers=ops)).json()["version"] == 2
    # A proposal is frozen: what the second person reads is what would be published.
    edited = await client.put(f"/api/policies/drafts/{draft['id']}", json={"document": active}, headers=ops)
    assert edited.status_code == 409

    rejected = await client.post(
        f"/api/policies/proposals/{draft['id']}/reject", json={"reason": "no"}, headers=second_ops
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    again = await client.post(f"/api/policies/proposals/{draft['id']}/approve", headers=second_ops)
    assert again.status_code == 409
    assert (await client.get("/api/policies/active", headers=ops)).json()["version"] == 2


async def test_invalid_documents_are_refused_naming_the_field(client: httpx.AsyncClient, ops: dict) -> None:
    active = (await client.get("/api/policies/active", headers=ops)).json()["document"]
    broken = {**active, "tiers": [{**active["tiers"][0], "quorum": 9}, *active["tiers"][1:]]}
    response = await client.post("/api/policies/validate", json={"document": broken}, headers=ops)
    assert response.status_code == 422
    assert "tiers[0].quorum" in response.json()["detail"]
    unknown_kind = {**active, "rules": [*active["rules"], {"id": "x", "kind": "telepathy", "description": "?"}]}
    response = await client.post("/api/policies/drafts", json={"document": unknown_kind}, headers=ops)
    assert response.status_code == 422 and "telepathy" in response.json()["detail"]
    assert (await client.get("/api/policies/drafts", headers=ops)).json() == []


async def test_dry_run_shows_what_would_move_then_publish(client: httpx.AsyncClient, cfo: dict, ops: dict) -> None:
    for name in ("01-acme-hosting.txt", "02-northwind.txt", "03-globex-over-limit.txt"):
        await client.post("/api/process-invoice", json={"raw_text": SAMPLES[name]}, headers=cfo)
    active = (await client.get("/api/policies/active", headers=ops)).json()["document"]
    stricter = {
        **active,
        "rules": [
            {**r, "max_amount": "1000"} if r["id"] in ("per-invoice-limit", "within-limit") else r
            for r in active["rules"]
        ],
    }
    draft = (await client.post("/api/policies/drafts", json={"document": stricter, "comment": "tighten"},
                               headers=ops)).json()  # fmt: skip
    assert draft["status"] == "draft" and draft["version"] is None

    report = (await client.post(f"/api/policies/drafts/{draft['id']}/dry-run", headers=ops)).json()
    assert report["evaluated"] == 3
    assert report["transitions"] == {"allow -> require_approval": 1}  # ACME's 1,250; Northwind's 980.50 stays
    assert report["changes"][0]["recorded"] == "allow"

    published = (await client.post(f"/api/policies/drafts/{draft['id']}/publish", headers=ops)).json()
    assert published["version"] == 3 and published["status"] == "active"
    again = await client.post(f"/api/policies/drafts/{draft['id']}/publish", headers=ops)
    assert again.status_code == 409


async def test_concurrent_publishes_leave_exactly_one_active_version(client: httpx.AsyncClient, ops: dict) -> None:
    active = (await client.get("/api/policies/active", headers=ops)).json()["document"]
    drafts = []
    for n in range(6):
        body = {"document": active, "comment": f"racer {n}"}
        drafts.append((await client.post("/api/policies/drafts", json=body, headers=ops)).json()["id"])
    results = await asyncio.gather(*(client.post(f"/api/policies/drafts/{d}/publish", headers=ops) for d in drafts))
    assert all(r.status_code in (200, 409) for r in results)
    history = (await client.get("/api/policies", headers=ops)).json()
    assert [v["status"] for v in history].count("active") == 1
    versions = [v["version"] for v in history]
    assert sorted(versions) == list(range(1, len(versions) + 1))


async def test_runway_shows_its_inputs(client: httpx.AsyncClient, cfo: dict, ops: dict) -> None:
    await client.post("/api/process-invoice", json={"raw_text": SAMPLES["01-acme-hosting.txt"]}, headers=cfo)
    runway = (await client.get("/api/treasury/runway", headers=ops)).json()
    assert Decimal(runway["balance"]) == Decimal("998750")
    assert Decimal(runway["reserved"]) == 0
    # One day of history: the baseline burn (25,000 a month) applies until the window fills.
    assert Decimal(runway["monthly_burn"]) == Decimal("25000")
    assert Decimal(runway["runway_months"]) == Decimal("39.95")
    assert "spendable / monthly_burn" in runway["formula"]
