"""The web settings form under the four-eyes rule, over plain HTTP: lowering the limit applies at once; raising it
says that it awaits a second ops user, lists the proposal, and leaves the limit as it was."""

from __future__ import annotations

import re

import httpx
import pytest

from finance.db import create_engine, session_factory
from finance.settings import Settings
from tests.fixtures.people import TEST_PASSWORD, ensure_user

pytestmark = pytest.mark.asyncio


async def _sign_in_as_ops(client: httpx.AsyncClient, settings: Settings) -> str:
    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        await ensure_user(session, "ops.web@example.com", "ops")
    await engine.dispose()
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    data = {"username": "ops.web@example.com", "password": TEST_PASSWORD, "csrf": token}
    assert (await client.post("/login", data=data)).status_code == 303
    page = await client.get("/app/settings")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


async def test_raising_the_limit_from_the_form_awaits_a_second_person(
    client: httpx.AsyncClient, bootstrapped: Settings, ops: dict
) -> None:
    csrf = await _sign_in_as_ops(client, bootstrapped)

    lowered = await client.post("/app/settings/limit", data={"new_limit": "4,000", "csrf": csrf})
    assert lowered.status_code == 303 and lowered.headers["location"] == "/app/settings"
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "4000"}

    raised = await client.post("/app/settings/limit", data={"new_limit": "9000", "csrf": csrf})
    assert raised.status_code == 303 and "notice=" in raised.headers["location"]
    page = await client.get(raised.headers["location"])
    assert "awaits approval by a second ops user" in page.text
    assert 'id="limit">4,000.00<' in page.text
    assert "rule per-invoice-limit: max_amount 4000 -&gt; 9000" in page.text
    assert (await client.get("/api/settings/limit", headers=ops)).json() == {"limit": "4000"}
    proposals = (await client.get("/api/policies/proposals", headers=ops)).json()
    assert [p["proposed_by"] for p in proposals] == ["ops.web@example.com"]
