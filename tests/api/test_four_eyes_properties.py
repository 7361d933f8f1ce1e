"""No single person moves money: a property over people, roles and credentials, on the real API with PostgreSQL,
Redis and anvil.

Hypothesis draws a few users, each with any set of roles and any mix of credentials (a sign-in token and API keys
carrying some of their roles), and one of them as the insider. The insider then tries every step of the chain
that ends in a payment to an address they control (register the payee, verify it, submit a bill, approve
whatever waits) with every credential they hold, in every order the chain allows. Nobody else acts. The payment
must never happen. A control test shows the same chain does pay when the steps are done by different people, so
the property is not true merely because the chain is broken.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from eth_account import Account
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from agents.runtime import open_treasurer
from finance.db import create_engine, session_factory
from finance.models import Payment
from finance.settings import Settings
from policies.defaults import starter_policy
from policies.document import ApproverGroup
from tests.fixtures.credentials import access_token, api_key_headers
from tests.fixtures.policies import publish_reviewed

pytestmark = pytest.mark.asyncio
EXAMPLES = int(os.environ.get("TREASURER_TEST_FOUR_EYES_EXAMPLES", "12"))
ROLES = ("cfo", "approver", "ops", "auditor", "admin")


@dataclass(frozen=True)
class Person:
    roles: frozenset[str]
    token: bool  # signs in (an access token carrying all their roles)
    keys: tuple[frozenset[str], ...]  # API keys, each with some of their roles


@dataclass(frozen=True)
class Scenario:
    people: tuple[Person, ...]
    insider: int
    amount: int


def _person() -> st.SearchStrategy[Person]:
    def keys_for(roles: frozenset[str]) -> st.SearchStrategy[tuple[frozenset[str], ...]]:
        subsets = st.frozensets(st.sampled_from(sorted(roles)), min_size=1)
        return st.lists(subsets, max_size=2).map(tuple)

    def build(roles: frozenset[str]) -> st.SearchStrategy[Person]:
        return st.builds(Person, roles=st.just(roles), token=st.booleans(), keys=keys_for(roles))

    return st.frozensets(st.sampled_from(ROLES), min_size=1).flatmap(build)


def _scenarios() -> list[Scenario]:
    found: list[Scenario] = []
    people = st.lists(_person(), min_size=1, max_size=3).map(tuple)
    scenario = people.flatmap(
        lambda ps: st.builds(
            Scenario,
            people=st.just(ps),
            insider=st.integers(0, len(ps) - 1),
            amount=st.integers(10, 4_900),
        )
    )

    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(scenario)
    def collect(drawn: Scenario) -> None:
        found.append(drawn)

    collect()
    # The strongest insider always runs too: one person holding every role and every kind of credential.
    everything = Person(frozenset(ROLES), True, (frozenset(ROLES), frozenset({"ops"}), frozenset({"cfo"})))
    return [*found, Scenario(people=(everything,), insider=0, amount=4_900)]


@pytest_asyncio.fixture
async def api(unlimited_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return unlimited_client


async def _credentials(settings: Settings, email: str, person: Person) -> list[dict[str, str]]:
    found = []
    if person.token:
        found.append({"Authorization": f"Bearer {await access_token(settings, email, *sorted(person.roles))}"})
    for roles in person.keys:
        found.append(await api_key_headers(settings, email, *sorted(roles)))
    if not found:  # a person with no credential of their own still exists; give them a key of all their roles
        found.append(await api_key_headers(settings, email, *sorted(person.roles)))
    return found


def _vendor_name(kind: str) -> str:
    # Letters only: a name the extractor reads as a company name, new in every example.
    return f"{kind} {''.join(secrets.choice('bcdfghjklmnpqrstvwxz') for _ in range(8)).title()} Services"


def _bill(vendor: str, number: str, amount: int) -> str:
    return (
        f"{vendor}\n1 Insider Lane, Springfield\n\nInvoice No: {number}\nInvoice date: 2024-03-05\n\n"
        f"Consulting services    {amount:,}.00\n\nTotal: USD {amount:,}.00\n"
    )


async def _insider_tries_everything(
    api: httpx.AsyncClient, credentials: list[dict], payee: str, amount: int
) -> list[str]:
    """Every step of the chain with every credential, repeated, so that no ordering is missed. Returns what the
    insider saw of each bill."""
    vendor_name = _vendor_name("Insider")
    vendor_id = None
    for headers in credentials:
        created = await api.post("/api/vendors", json={"name": vendor_name, "payout_address": payee}, headers=headers)
        if created.status_code == 201:
            vendor_id = created.json()["id"]
            break
    outcomes: list[str] = []
    for round_no in range(2):
        if vendor_id is not None:
            for headers in credentials:
                await api.post(f"/api/vendors/{vendor_id}/verify", headers=headers)
        for index, headers in enumerate(credentials):
            text = _bill(vendor_name, f"INS-{round_no}-{index}-{uuid.uuid4().hex[:4]}", amount + index)
            answer = await api.post("/api/process-invoice", json={"raw_text": text}, headers=headers)
            body = answer.json() if answer.content else {}
            outcomes.append(f"{answer.status_code} {body.get('status')} {body.get('tx_hash') or ''}".strip())
            if vendor_id is not None:
                # Once the payee exists, a bill must be read as that vendor's: a refusal for not knowing the
                # vendor would make this property hold for the wrong reason.
                assert "not in the registry" not in (body.get("reason") or ""), (vendor_name, body)
        for headers in credentials:
            waiting = await api.get("/api/approvals", headers=headers)
            for request in waiting.json() if waiting.status_code == 200 else []:
                for voter in credentials:
                    await api.post(f"/api/approvals/{request['id']}/approve", json={}, headers=voter)
    return outcomes


async def _payments_to(settings: Settings, payee: str) -> list[Payment]:
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(Payment).where(Payment.payee_address == payee)))
    await engine.dispose()
    return rows


async def test_no_single_person_completes_register_verify_submit_paid(
    api: httpx.AsyncClient, bootstrapped: Settings
) -> None:
    scenarios = _scenarios()
    assert len(scenarios) >= min(EXAMPLES, 5)
    failures = []
    for number, scenario in enumerate(scenarios):
        tag = secrets.token_hex(3)
        emails = [f"person{i}.{tag}@example.com" for i in range(len(scenario.people))]
        credentials = [await _credentials(bootstrapped, e, p) for e, p in zip(emails, scenario.people, strict=True)]
        payee = Account.create().address
        outcomes = await _insider_tries_everything(api, credentials[scenario.insider], payee, scenario.amount)
        paid = await _payments_to(bootstrapped, payee)
        if paid or any("SUCCESS" in o or "0x" in o for o in outcomes):
            failures.append(f"scenario {number} {scenario}: paid {paid} after {outcomes}")
    assert not failures, "\n".join(failures)


async def _publish_starter_with_new_payee_rule(settings: Settings) -> None:
    document = starter_policy(Decimal("5000"), "USD").model_copy(
        update={"groups": {"finance": ApproverGroup(members=["controller@example.com", "alice@example.com"])}}
    )
    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await publish_reviewed(session, document, "new-payee rule on")
    await engine.dispose()


async def test_the_same_chain_pays_when_different_people_do_the_steps(
    api: httpx.AsyncClient, bootstrapped: Settings
) -> None:
    """Control, under the starter policy with its new-payee rule: register (one person), verify (another), submit
    (a third), approve the first payment (a fourth; the verifier may not), and it pays; the next bill pays at once."""
    await _publish_starter_with_new_payee_rule(bootstrapped)
    registrar = await api_key_headers(bootstrapped, "reg.control@example.com", "ops")
    verifier = await api_key_headers(bootstrapped, "alice@example.com", "ops", "approver")
    submitter = await api_key_headers(bootstrapped, "cfo@example.com", "cfo")
    approver = await api_key_headers(bootstrapped, "controller@example.com", "approver")
    payee = Account.create().address
    vendor_name = _vendor_name("Honest")
    created = await api.post("/api/vendors", json={"name": vendor_name, "payout_address": payee}, headers=registrar)
    vendor_id = created.json()["id"]
    assert (await api.post(f"/api/vendors/{vendor_id}/verify", headers=verifier)).status_code == 200

    first = await api.post(
        "/api/process-invoice", json={"raw_text": _bill(vendor_name, "OK-1", 900)}, headers=submitter
    )
    assert first.status_code == 202 and first.json()["status"] == "PAUSED_FOR_APPROVAL", first.text
    assert "nothing has been paid to this payout address" in first.json()["reason"]
    request_id = first.json()["approval_id"]
    own = await api.post(f"/api/approvals/{request_id}/approve", json={}, headers=verifier)
    assert own.status_code == 403 and own.json()["code"] == "four_eyes", own.text
    approved = await api.post(f"/api/approvals/{request_id}/approve", json={}, headers=approver)
    assert approved.status_code == 200, approved.text
    # The API queues the resume for a worker; this test is the worker.
    async with open_treasurer(bootstrapped) as worker:
        resumed = await worker.resume_approval(uuid.UUID(request_id))
    assert resumed is not None and resumed.status == "paid", resumed
    assert [p.status for p in await _payments_to(bootstrapped, payee)] == ["confirmed"]

    second = await api.post(
        "/api/process-invoice", json={"raw_text": _bill(vendor_name, "OK-2", 950)}, headers=submitter
    )
    assert second.status_code == 200 and second.json()["status"] == "SUCCESS", second.text
