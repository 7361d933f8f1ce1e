"""The vendor registry API, and the four-eyes rule on payout addresses."""

from __future__ import annotations

import httpx

from api.demo import sample_invoices

ACME_TEXT = dict(sample_invoices())["01-acme-hosting.txt"]
NEW_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


async def _acme(client: httpx.AsyncClient, headers: dict) -> dict:
    vendors = (await client.get("/api/vendors", headers=headers)).json()
    return next(v for v in vendors if v["name"] == "ACME Hosting GmbH")


async def test_create_read_update_deactivate(client: httpx.AsyncClient, ops: dict) -> None:
    body = {
        "name": "Umbrella Logistics B.V.",
        "payout_address": NEW_ADDRESS.lower(),
        "aliases": ["Umbrella"],
        "tax_id": "NL 8542.36.011.B01",
        "category": "Logistics",
    }
    created = await client.post("/api/vendors", json=body, headers=ops)
    assert created.status_code == 201, created.text
    vendor = created.json()
    assert vendor["payout_address"] == NEW_ADDRESS and vendor["tax_id"] == "NL854236011B01"
    assert vendor["category"] == "logistics"

    again = await client.post("/api/vendors", json={**body, "name": "UMBRELLA LOGISTICS"}, headers=ops)
    assert again.status_code == 409

    patched = await client.patch(f"/api/vendors/{vendor['id']}", json={"aliases": ["Umbrella", "UL"]}, headers=ops)
    assert patched.json()["aliases"] == ["Umbrella", "UL"]
    sneaky = await client.patch(f"/api/vendors/{vendor['id']}", json={"payout_address": NEW_ADDRESS}, headers=ops)
    assert sneaky.status_code == 422  # not a field of an update: addresses change only with a second person

    gone = await client.post(f"/api/vendors/{vendor['id']}/deactivate", headers=ops)
    assert gone.json()["active"] is False
    listed = (await client.get("/api/vendors", headers=ops)).json()
    assert vendor["id"] not in {v["id"] for v in listed}
    assert (await client.get(f"/api/vendors/{vendor['id']}", headers=ops)).json()["active"] is False


async def test_bad_addresses_are_refused(client: httpx.AsyncClient, ops: dict) -> None:
    typo = NEW_ADDRESS[:-1] + ("d" if NEW_ADDRESS[-1] == "D" else "D")
    response = await client.post("/api/vendors", json={"name": "Typo Ltd", "payout_address": typo}, headers=ops)
    assert response.status_code == 409 and "EIP-55" in response.json()["detail"]


async def test_payout_change_needs_a_second_person_and_holds_payments(
    client: httpx.AsyncClient, cfo: dict, ops: dict, second_ops: dict
) -> None:
    acme = await _acme(client, ops)
    change = await client.post(
        f"/api/vendors/{acme['id']}/payout-address", json={"new_address": NEW_ADDRESS}, headers=ops
    )
    assert change.status_code == 202
    change_id = change.json()["id"]
    assert (await _acme(client, ops))["payout_address"] == acme["payout_address"]

    # While the change waits, nothing is paid to the vendor, at either address.
    held = await client.post("/api/process-invoice", json={"raw_text": ACME_TEXT}, headers=cfo)
    assert held.status_code == 202 and held.json()["status"] == "PAUSED_FOR_APPROVAL"
    assert "awaits approval" in held.json()["reason"]

    own = await client.post(f"/api/vendors/{acme['id']}/payout-address/{change_id}/approve", headers=ops)
    assert own.status_code == 403
    approved = await client.post(f"/api/vendors/{acme['id']}/payout-address/{change_id}/approve", headers=second_ops)
    assert approved.status_code == 200 and approved.json()["decided_by"] == "ops.two@example.com"
    assert (await _acme(client, ops))["payout_address"] == NEW_ADDRESS

    replay = await client.post(f"/api/vendors/{acme['id']}/payout-address/{change_id}/approve", headers=second_ops)
    assert replay.status_code == 409

    paid = await client.post(
        "/api/process-invoice",
        json={"raw_text": ACME_TEXT.replace("INV-2024-001", "INV-2024-100").replace("2024-03-05", "2024-03-07")},
        headers=cfo,
    )
    assert paid.status_code == 200, paid.text


async def test_a_second_open_change_request_is_refused(client: httpx.AsyncClient, ops: dict) -> None:
    acme = await _acme(client, ops)
    url = f"/api/vendors/{acme['id']}/payout-address"
    assert (await client.post(url, json={"new_address": NEW_ADDRESS}, headers=ops)).status_code == 202
    second = await client.post(url, json={"new_address": "0x2029722a2FBdaD4597B9C5D4e786331a30f7F8bD"}, headers=ops)
    assert second.status_code == 409 and "already has" in second.json()["detail"]
