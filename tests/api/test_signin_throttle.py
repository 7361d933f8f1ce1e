"""Failed sign-ins are throttled per account and per address, in Redis, before the password is checked: the
attack this answers is 200 wrong passwords for one account on loopback, which got no 429, no lockout, no delay."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from finance.db import create_engine, session_factory
from finance.settings import Settings

pytestmark = pytest.mark.asyncio
PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"
Client = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


async def _users(settings: Settings, *emails: str) -> None:
    from api.users.service import create_user

    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        for email in emails:
            await create_user(session, email, PASSWORD, ["cfo"], created_by="test")
    await engine.dispose()


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[Client]:
    """One app; `client(ip)` talks to it from that address."""
    app: FastAPI = create_app(settings)

    @asynccontextmanager
    async def client(ip: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test") as http:
            yield http

    async with app.router.lifespan_context(app):
        yield client


@pytest_asyncio.fixture
async def client_from(bootstrapped: Settings) -> AsyncIterator[Client]:
    await _users(bootstrapped, "alice@example.com", "bob@example.com")
    async with _running(bootstrapped) as client:
        yield client


async def _sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/token", data={"username": email, "password": password})


def _throttled(response: httpx.Response, settings: Settings) -> bool:
    if response.status_code != 429:
        return False
    body = response.json()
    retry_after = int(response.headers["Retry-After"])
    assert body["code"] == "sign_in_throttled" and body["detail"].startswith("too many failed sign-ins")
    assert 0 < retry_after <= settings.signin_failure_window_seconds
    return True


async def test_200_wrong_passwords_meet_429_after_the_account_budget(
    client_from: Client, bootstrapped: Settings
) -> None:
    budget = bootstrapped.signin_max_failures_per_account
    async with client_from("127.0.0.1") as attacker:
        answers = [await _sign_in(attacker, "alice@example.com", f"{WRONG} {n}") for n in range(200)]
        assert [a.status_code for a in answers[:budget]] == [401] * budget
        assert all(_throttled(a, bootstrapped) for a in answers[budget:])

        # Throttled means the password is not even checked: the right one is refused too, however it is spelt.
        assert _throttled(await _sign_in(attacker, "alice@example.com", PASSWORD), bootstrapped)
        assert _throttled(await _sign_in(attacker, " Alice@EXAMPLE.com", PASSWORD), bootstrapped)
    async with client_from("10.0.0.2") as elsewhere:
        # Per account: from another address the account is still locked ...
        assert _throttled(await _sign_in(elsewhere, "alice@example.com", PASSWORD), bootstrapped)
        # ... and another account from another address is untouched.
        assert (await _sign_in(elsewhere, "bob@example.com", PASSWORD)).status_code == 200


async def test_an_unknown_account_is_throttled_exactly_like_a_known_one(
    client_from: Client, bootstrapped: Settings
) -> None:
    budget = bootstrapped.signin_max_failures_per_account

    async def answers(email: str, ip: str) -> list[tuple[int, str, str]]:
        async with client_from(ip) as http:
            replies = [await _sign_in(http, email, WRONG) for _ in range(budget + 3)]
        return [(r.status_code, r.json()["code"], re.sub(r"\d+ s$", "N s", r.json()["detail"])) for r in replies]

    # Nothing in the answers (status, code, message) tells which of the two addresses has an account.
    assert await answers("alice@example.com", "10.0.0.3") == await answers("nobody@example.com", "10.0.0.4")


async def test_the_address_budget_spans_accounts(client_from: Client, bootstrapped: Settings) -> None:
    budget = bootstrapped.signin_max_failures_per_ip
    async with client_from("192.0.2.9") as sprayer:
        # One guess per account stays under every account's budget; the address's budget catches the spray.
        sprayed = [await _sign_in(sprayer, f"user{n}@example.com", WRONG) for n in range(budget)]
        assert [r.status_code for r in sprayed] == [401] * budget
        assert _throttled(await _sign_in(sprayer, "user-next@example.com", WRONG), bootstrapped)
        assert _throttled(await _sign_in(sprayer, "bob@example.com", PASSWORD), bootstrapped)
    async with client_from("198.51.100.1") as colleague:
        assert (await _sign_in(colleague, "bob@example.com", PASSWORD)).status_code == 200


async def test_an_ipv6_host_cannot_escape_by_rotating_through_its_64(
    client_from: Client, bootstrapped: Settings
) -> None:
    budget = bootstrapped.signin_max_failures_per_ip
    for n in range(budget):
        async with client_from(f"2001:db8:1:2::{n + 1:x}") as host:
            assert (await _sign_in(host, f"user{n}@example.com", WRONG)).status_code == 401
    async with client_from("2001:db8:1:2:ffff::1") as same_network:
        assert _throttled(await _sign_in(same_network, "user-next@example.com", WRONG), bootstrapped)
    async with client_from("2001:db8:1:3::1") as next_network:
        assert (await _sign_in(next_network, "bob@example.com", PASSWORD)).status_code == 200


async def test_a_success_resets_the_account_budget(client_from: Client, bootstrapped: Settings) -> None:
    budget = bootstrapped.signin_max_failures_per_account
    async with client_from("127.0.0.1") as alice:
        for _ in range(budget - 1):
            assert (await _sign_in(alice, "alice@example.com", WRONG)).status_code == 401
        assert (await _sign_in(alice, "alice@example.com", PASSWORD)).status_code == 200
        # A whole budget again after the success, not the one failure that was left.
        for _ in range(budget):
            assert (await _sign_in(alice, "alice@example.com", WRONG)).status_code == 401
        assert _throttled(await _sign_in(alice, "alice@example.com", WRONG), bootstrapped)


async def test_a_parallel_burst_gets_no_more_guesses_than_the_budget(
    client_from: Client, bootstrapped: Settings
) -> None:
    # Each attempt takes its place before the password is checked, so guesses racing each other cannot all
    # pass the check before the first failure is counted.
    budget = bootstrapped.signin_max_failures_per_account
    async with client_from("127.0.0.1") as attacker:
        burst = await asyncio.gather(*(_sign_in(attacker, "alice@example.com", f"{WRONG} {n}") for n in range(30)))
    statuses = sorted(r.status_code for r in burst)
    assert statuses == [401] * budget + [429] * (30 - budget)


async def test_the_web_form_shares_the_budget(client_from: Client, bootstrapped: Settings) -> None:
    budget = bootstrapped.signin_max_failures_per_account
    async with client_from("127.0.0.1") as api:
        for _ in range(budget):
            assert (await _sign_in(api, "alice@example.com", WRONG)).status_code == 401
    async with client_from("10.0.0.5") as browser:
        form = await browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        page = await browser.post("/login", data={"username": "alice@example.com", "password": PASSWORD, "csrf": csrf})
        error = httpx.URL(page.headers["location"]).params["error"]
        assert page.status_code == 303 and error.startswith("too many failed sign-ins")
        assert "treasurer_session" not in page.headers.get("set-cookie", "")


async def test_without_redis_sign_in_fails_closed_outside_dev(bootstrapped: Settings) -> None:
    await _users(bootstrapped, "alice@example.com")
    unreachable = bootstrapped.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with _running(unreachable) as client_from, client_from("127.0.0.1") as http:
        answer = await _sign_in(http, "alice@example.com", PASSWORD)
    assert answer.status_code == 503 and answer.json()["code"] == "sign_in_unavailable"
    assert int(answer.headers["Retry-After"]) > 0

    # In development (the embedded default runs without Redis) sign-in goes on, unthrottled.
    dev = unreachable.model_copy(update={"environment": "dev"})
    async with _running(dev) as client_from, client_from("127.0.0.1") as http:
        assert (await _sign_in(http, "alice@example.com", PASSWORD)).status_code == 200
