"""Approvals over HTTP: the e-mailed link's page (GET shows, only POST decides), the single-use token, and
the JSON API for people with an access token. Real PostgreSQL, Redis and anvil behind the app."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from finance.settings import Settings
from notifications.links import ApprovalLinks
from tests.fixtures.approvals import globex_invoice
from tests.fixtures.credentials import token_headers

pytestmark = pytest.mark.asyncio


async def _bearer(settings: Settings, who: str, *roles: str, ttl: timedelta = timedelta(minutes=5)) -> dict[str, str]:
    return await token_headers(settings, who, *roles, ttl=ttl)


async def _pending_request(client: httpx.AsyncClient, settings: Settings) -> tuple[str, dict]:
    text = globex_invoice(f"GX-{uuid.uuid4().hex[:6]}", Decimal("12000"))
    response = await client.post(
        "/api/process-invoice", json={"raw_text": text}, headers=await _bearer(settings, "cfo@example.com", "cfo")
    )
    assert response.status_code == 202 and response.json()["status"] == "PAUSED_FOR_APPROVAL", response.text
    invoice_id = response.json()["invoice_id"]
    assert response.json()["approval_id"]
    approval = await client.get(
        f"/api/invoices/{invoice_id}/approval", headers=await _bearer(settings, "auditor@example.com", "auditor")
    )
    assert approval.status_code == 200, approval.text
    assert approval.json()["id"] == response.json()["approval_id"]
    return invoice_id, approval.json()


def _link(settings: Settings, approval: dict, decision: str = "approve", **overrides) -> str:
    links = ApprovalLinks(settings.jwt_secret, settings.public_base_url)
    return links.issue(
        uuid.UUID(approval["id"]),
        overrides.get("approver", "controller@example.com"),
        decision,
        overrides.get("expires_at", datetime.fromisoformat(approval["deadline"])),
    )


async def _votes(client: httpx.AsyncClient, settings: Settings, approval: dict) -> list[dict]:
    response = await client.get(
        f"/api/approvals/{approval['id']}", headers=await _bearer(settings, "auditor@example.com", "auditor")
    )
    return response.json()["votes"]


async def test_opening_the_link_shows_the_invoice_and_changes_nothing(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    token = _link(bootstrapped, approval)
    for _ in range(3):  # a mail scanner, a link preview, the approver
        page = await client.get("/approvals/link", params={"token": token})
        assert page.status_code == 200
        assert "Globex Corporation" in page.text and "12,000.00 USD" in page.text
        assert "over the per-invoice limit" in page.text
        assert 'method="post"' in page.text and "Approve payment" in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["x-frame-options"] == "DENY"
    assert await _votes(client, bootstrapped, approval) == []


async def test_the_post_decides_once_and_a_replay_changes_nothing(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    token = _link(bootstrapped, approval)
    done = await client.post("/approvals/link", data={"token": token, "comment": "ok per contract"})
    assert done.status_code == 200, done.text
    assert "Your vote is recorded" in done.text and "the payment follows" in done.text
    [vote] = await _votes(client, bootstrapped, approval)
    assert (vote["approver"], vote["decision"], vote["channel"], vote["comment"]) == (
        "controller@example.com",
        "approve",
        "link",
        "ok per contract",
    )

    replay = await client.post("/approvals/link", data={"token": token})
    assert replay.status_code == 409 and "already been used" in replay.text
    shown = await client.get("/approvals/link", params={"token": token})
    assert shown.status_code == 409 and "already approved" in shown.text
    assert len(await _votes(client, bootstrapped, approval)) == 1


async def test_forged_expired_and_garbled_links_get_a_page_and_change_nothing(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    token = _link(bootstrapped, approval)
    head, body, signature = token.split(".")
    forged_claims = ApprovalLinks("another-secret", bootstrapped.public_base_url).issue(
        uuid.UUID(approval["id"]), "controller@example.com", "approve", datetime.now(UTC) + timedelta(hours=1)
    )
    cases = {
        "forged": forged_claims,
        "tampered": f"{head}.{body}.{signature[:-4]}AAAA",
        "expired": _link(bootstrapped, approval, expires_at=datetime.now(UTC) - timedelta(seconds=1)),
        "garbled": "not-a-token",
    }
    for name, bad in cases.items():
        for response in (
            await client.get("/approvals/link", params={"token": bad}),
            await client.post("/approvals/link", data={"token": bad}),
        ):
            assert response.status_code == 400, (name, response.text)
            assert "Nothing was decided" in response.text or "incomplete or damaged" in response.text, name
    assert await _votes(client, bootstrapped, approval) == []


async def test_a_link_for_someone_who_is_not_an_approver_is_refused(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    # The submitter's own link (were one ever issued) cannot approve: four eyes, compared on the user behind it.
    token = _link(bootstrapped, approval, approver="cfo@example.com")
    response = await client.post("/approvals/link", data={"token": token})
    assert response.status_code == 403 and "submitted this invoice" in response.text
    stranger = _link(bootstrapped, approval, approver="alice@example.com")
    response = await client.post("/approvals/link", data={"token": stranger})
    assert response.status_code == 403 and "not an approver" in response.text
    nobody = _link(bootstrapped, approval, approver="nobody@example.com")
    response = await client.post("/approvals/link", data={"token": nobody})
    assert response.status_code == 403 and "no active account" in response.text
    assert await _votes(client, bootstrapped, approval) == []


async def test_a_hundred_concurrent_posts_of_one_token_record_exactly_one_vote(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    token = _link(bootstrapped, approval)
    responses = await asyncio.gather(*(client.post("/approvals/link", data={"token": token}) for _ in range(100)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 409}, codes
    assert len(await _votes(client, bootstrapped, approval)) == 1


async def test_approvers_list_and_decide_with_an_access_token(client, bootstrapped: Settings) -> None:
    _, approval = await _pending_request(client, bootstrapped)
    controller = await _bearer(bootstrapped, "controller@example.com", "approver")
    mine = await client.get("/api/approvals", headers=controller)
    assert mine.status_code == 200 and approval["id"] in [a["id"] for a in mine.json()]
    # The submitter is not asked, even with the approver role.
    theirs = await client.get("/api/approvals", headers=await _bearer(bootstrapped, "cfo@example.com", "approver"))
    assert approval["id"] not in [a["id"] for a in theirs.json()]

    stranger = await client.post(
        f"/api/approvals/{approval['id']}/approve",
        json={},
        headers=await _bearer(bootstrapped, "eve@example.com", "approver"),
    )
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_an_approver"
    wrong_role = await client.post(
        f"/api/approvals/{approval['id']}/approve",
        json={},
        headers=await _bearer(bootstrapped, "controller@example.com", "auditor"),
    )
    assert wrong_role.status_code == 403
    assert (await client.post(f"/api/approvals/{approval['id']}/approve", json={})).status_code == 401
    expired = await _bearer(bootstrapped, "controller@example.com", "approver", ttl=timedelta(seconds=-1))
    assert (await client.post(f"/api/approvals/{approval['id']}/approve", json={}, headers=expired)).status_code == 401
    assert await _votes(client, bootstrapped, approval) == []

    approved = await client.post(
        f"/api/approvals/{approval['id']}/approve", json={"comment": "fine"}, headers=controller
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approvals"] == 1
    again = await client.post(f"/api/approvals/{approval['id']}/approve", json={}, headers=controller)
    assert again.status_code == 409


async def test_only_the_submitter_or_an_admin_cancels(client, bootstrapped: Settings) -> None:
    invoice_id, approval = await _pending_request(client, bootstrapped)
    other_cfo = await client.post(
        f"/api/approvals/{approval['id']}/cancel",
        json={},
        headers=await _bearer(bootstrapped, "cfo2@example.com", "cfo"),
    )
    assert other_cfo.status_code == 403
    cancelled = await client.post(
        f"/api/approvals/{approval['id']}/cancel",
        json={"reason": "sent twice"},
        headers=await _bearer(bootstrapped, "cfo@example.com", "cfo"),
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert re.search("sent twice", cancelled.json()["outcome_reason"])
