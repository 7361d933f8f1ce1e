"""The vendor registry API under four eyes: a new vendor waits for a second person, every change to what
identifies or pays a vendor waits for a second person, and "second" means another user id, whatever
credential each step used. Each attack from issue 11 is a test here."""

from __future__ import annotations

import httpx

from api.demo import sample_invoices
from finance.settings import Settings
from tests.fixtures.credentials import api_key_headers, token_headers

ACME_TEXT = dict(sample_invoices())["01-acme-hosting.txt"]
NEW_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
INSIDER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


async def _acme(client: httpx.AsyncClient, headers: dict) -> dict:
    vendors = (await client.get("/api/vendors", headers=headers)).json()
    return next(v for v in vendors if v["name"] == "ACME Hosting GmbH")


async def _acme_by_id(client: httpx.AsyncClient, headers: dict, vendor_id: str) -> dict:
    return (await client.get(f"/api/vendors/{vendor_id}", headers=headers)).json()


def _acme_bill(number: str, day: str = "2024-03-07") -> str:
    return ACME_TEXT.replace("INV-2024-001", number).replace("2024-03-05", day)


async def test_a_new_vendor_waits_for_someone_else_to_verify_it(
    client: httpx.AsyncClient, bootstrapped: Settings, ops: dict, second_ops: dict
) -> None:
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
    assert vendor["status"] == "pending_verification" and vendor["registered_by"] == "ops.one@example.com"
    assert vendor["payout_address"] == NEW_ADDRESS and vendor["tax_id"] == "NL854236011B01"

    again = await client.post("/api/vendors", json={**body, "name": "UMBRELLA LOGISTICS"}, headers=ops)
    assert again.status_code == 409

    # Before verification an edit applies at once (200): the verifier vouches for the result.
    patched = await client.patch(f"/api/vendors/{vendor['id']}", json={"aliases": ["Umbrella", "UL"]}, headers=ops)
    assert patched.status_code == 200 and patched.json()["aliases"] == ["Umbrella", "UL"]

    # The registrar cannot verify, with any credential: a sign-in token names the same user as the API key.
    same_person = await token_headers(bootstrapped, "OPS.ONE@example.com", "ops")
    for headers in (ops, same_person):
        own = await client.post(f"/api/vendors/{vendor['id']}/verify", headers=headers)
        assert own.status_code == 403 and own.json()["code"] == "four_eyes", own.text
    verified = await client.post(f"/api/vendors/{vendor['id']}/verify", headers=second_ops)
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert verified.json()["verified_by"] == "ops.two@example.com"

    gone = await client.post(f"/api/vendors/{vendor['id']}/deactivate", headers=ops)
    assert gone.status_code == 200 and gone.json()["active"] is False
    listed = (await client.get("/api/vendors", headers=ops)).json()
    assert vendor["id"] not in {v["id"] for v in listed}


async def test_nulls_and_unknown_fields_are_422_and_change_nothing(client: httpx.AsyncClient, ops: dict) -> None:
    acme = await _acme(client, ops)
    for body in ({"name": None}, {"aliases": None}, {"tax_id": None}, {"payout_address": None}, {"colour": "red"}):
        response = await client.patch(f"/api/vendors/{acme['id']}", json=body, headers=ops)
        assert response.status_code == 422, (body, response.text)
    assert await _acme(client, ops) == acme


async def test_bad_addresses_are_refused(client: httpx.AsyncClient, ops: dict) -> None:
    typo = NEW_ADDRESS[:-1] + ("d" if NEW_ADDRESS[-1] == "D" else "D")
    response = await client.post("/api/vendors", json={"name": "Typo Ltd", "payout_address": typo}, headers=ops)
    assert response.status_code == 409 and "EIP-55" in response.json()["detail"]


async def test_payout_change_needs_a_second_person_and_holds_payments(
    client: httpx.AsyncClient, bootstrapped: Settings, cfo: dict, ops: dict, second_ops: dict
) -> None:
    acme = await _acme(client, ops)
    change = await client.post(
        f"/api/vendors/{acme['id']}/payout-address", json={"new_address": NEW_ADDRESS}, headers=ops
    )
    assert change.status_code == 202, change.text
    change_id = change.json()["id"]
    assert change.json()["changes"] == {"payout_address": NEW_ADDRESS}
    assert (await _acme(client, ops))["payout_address"] == acme["payout_address"]
    assert (await _acme(client, ops))["pending_change"]["id"] == change_id

    # While the change waits, nothing is paid to the vendor, at either address.
    held = await client.post("/api/process-invoice", json={"raw_text": ACME_TEXT}, headers=cfo)
    assert held.status_code == 202 and held.json()["status"] == "PAUSED_FOR_APPROVAL"
    assert "awaits approval" in held.json()["reason"]

    # The requester's own approval is refused whatever the credential: the API key they asked with, a sign-in
    # token, or another API key of theirs under the same e-mail in another case (the attack that once passed).
    other_key = await api_key_headers(bootstrapped, "Ops.One@Example.com", "ops")
    token = await token_headers(bootstrapped, "ops.one@example.com", "ops")
    for headers in (ops, other_key, token):
        own = await client.post(f"/api/vendors/{acme['id']}/changes/{change_id}/approve", headers=headers)
        assert own.status_code == 403 and own.json()["code"] == "four_eyes", own.text
    approved = await client.post(f"/api/vendors/{acme['id']}/payout-address/{change_id}/approve", headers=second_ops)
    assert approved.status_code == 200 and approved.json()["decided_by"] == "ops.two@example.com"
    assert (await _acme(client, ops))["payout_address"] == NEW_ADDRESS

    replay = await client.post(f"/api/vendors/{acme['id']}/changes/{change_id}/approve", headers=second_ops)
    assert replay.status_code == 409


async def test_a_second_open_change_request_is_refused(client: httpx.AsyncClient, ops: dict) -> None:
    acme = await _acme(client, ops)
    url = f"/api/vendors/{acme['id']}/payout-address"
    assert (await client.post(url, json={"new_address": NEW_ADDRESS}, headers=ops)).status_code == 202
    second = await client.post(url, json={"new_address": "0x2029722a2FBdaD4597B9C5D4e786331a30f7F8bD"}, headers=ops)
    assert second.status_code == 409 and "awaiting approval" in second.json()["detail"]
    listed = (await client.get("/api/vendors/changes", headers=ops)).json()
    assert [c["vendor_id"] for c in listed] == [acme["id"]]


async def test_rename_then_register_under_the_old_name_does_not_redirect_a_vendor(
    client: httpx.AsyncClient, cfo: dict, ops: dict, second_ops: dict
) -> None:
    """Attack (a): one ops person renames the real vendor and registers their own under its old name."""
    acme = await _acme(client, ops)
    rename = await client.patch(f"/api/vendors/{acme['id']}", json={"name": "ACME Legacy"}, headers=ops)
    assert rename.status_code == 202 and (await _acme(client, ops))["name"] == "ACME Hosting GmbH"
    impostor = {"name": "ACME Hosting GmbH", "payout_address": INSIDER_ADDRESS}
    taken = await client.post("/api/vendors", json=impostor, headers=ops)
    assert taken.status_code == 409

    # Even once a colleague approves the rename, the old name is still the real vendor's (an alias), so the
    # impostor is refused again, and the next bill under that name is paid to the real vendor's address.
    approve = await client.post(f"/api/vendors/{acme['id']}/changes/{rename.json()['id']}/approve", headers=second_ops)
    assert approve.status_code == 200 and (await _acme_by_id(client, ops, acme["id"]))["name"] == "ACME Legacy"
    assert (await client.post("/api/vendors", json=impostor, headers=ops)).status_code == 409
    bill = await client.post("/api/process-invoice", json={"raw_text": _acme_bill("INV-2024-201")}, headers=cfo)
    assert bill.status_code == 200 and bill.json()["status"] == "SUCCESS", bill.text
    paid_to = await client.get("/api/transactions", headers=cfo)
    assert {t["payee_address"] for t in paid_to.json()} == {acme["payout_address"]}, paid_to.text


async def test_deactivate_and_register_an_alias_does_not_redirect_a_vendor(
    client: httpx.AsyncClient, cfo: dict, ops: dict
) -> None:
    """Attack (b): deactivate the real vendor, register a new one carrying its name as an alias."""
    acme = await _acme(client, ops)
    assert (await client.post(f"/api/vendors/{acme['id']}/deactivate", headers=ops)).status_code == 200
    lookalike = {"name": "Acme Payments Ltd", "payout_address": INSIDER_ADDRESS, "aliases": ["ACME Hosting GmbH"]}
    refused = await client.post("/api/vendors", json=lookalike, headers=ops)
    assert refused.status_code == 409 and refused.json()["code"] == "vendor_conflict"
    bill = await client.post("/api/process-invoice", json={"raw_text": _acme_bill("INV-2024-202")}, headers=cfo)
    assert bill.json()["status"] == "BLOCKED" and bill.json().get("tx_hash") is None

    # Reactivating is a change like any other: held for a second person.
    again = await client.post(f"/api/vendors/{acme['id']}/reactivate", headers=ops)
    assert again.status_code == 202 and again.json()["changes"] == {"active": True}


async def test_an_admin_cannot_pay_themselves(
    client: httpx.AsyncClient, bootstrapped: Settings, second_ops: dict
) -> None:
    """The attack that once paid 4,900: an admin registers a vendor at their own address and bills it."""
    admin = await api_key_headers(bootstrapped, "root@example.com", "admin")
    vendor = {"name": "Root Consulting", "payout_address": INSIDER_ADDRESS}
    assert (await client.post("/api/vendors", json=vendor, headers=admin)).status_code == 403
    bill = "Root Consulting\nInvoice No: RC-1\nInvoice date: 2024-03-05\n\nConsulting 4,900.00\n\nTotal: USD 4,900.00\n"
    assert (await client.post("/api/process-invoice", json={"raw_text": bill}, headers=admin)).status_code == 403

    # Even holding every role, one person alone gets no further than a vendor nobody verified...
    everything = await api_key_headers(bootstrapped, "root@example.com", "admin", "ops", "cfo", "approver")
    registered = await client.post("/api/vendors", json=vendor, headers=everything)
    assert registered.status_code == 201
    unverified = await client.post("/api/process-invoice", json={"raw_text": bill}, headers=everything)
    assert unverified.json()["status"] == "BLOCKED", unverified.text
    # ...and once a colleague verifies it, the person who registered the payee may not bill it.
    assert (await client.post(f"/api/vendors/{registered.json()['id']}/verify", headers=second_ops)).status_code == 200
    again = await client.post(
        "/api/process-invoice", json={"raw_text": bill.replace("RC-1", "RC-2")}, headers=everything
    )
    assert again.json()["status"] == "BLOCKED" and "one step" in again.json()["reason"], again.text
