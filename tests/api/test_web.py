"""The web app in a real browser (Debian chromium through Playwright), served on loopback with a worker:
the CFO signs in, submits an invoice and watches it get paid; ops lowers the limit and the next invoice
waits for approval; the approver approves it on its page and it is paid. Plus the forms' CSRF and
sign-in rules over plain HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.demo import sample_invoices
from finance.db import create_engine, session_factory
from finance.settings import Settings
from tests.fixtures.browser import app_with_worker, live_server, screenshot_on_failure
from tests.fixtures.people import TEST_PASSWORD, ensure_user
from tests.fixtures.smtp import SmtpServer, free_port

pytestmark = pytest.mark.asyncio
SAMPLES = dict(sample_invoices())
PASSWORD = TEST_PASSWORD


async def _users(settings: Settings, *people: tuple[str, str]) -> None:
    engine = create_engine(settings.database_url)
    async with session_factory(engine).begin() as session:
        for email, role in people:
            await ensure_user(session, email, role)
    await engine.dispose()


async def _sign_in(browser, base_url: str, email: str):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base_url}/app")
    assert "/login" in page.url, "an unsigned visitor is sent to the login page"
    await page.fill("#username", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.get_by_role("heading", name="Dashboard").wait_for()
    return page


async def test_cfo_ops_and_approver_in_the_browser(
    bootstrapped: Settings,
    smtp_server: SmtpServer,
    browser,
    tmp_path: Path,
) -> None:
    await _users(
        bootstrapped, ("cfo@example.com", "cfo"), ("ops@example.com", "ops"), ("controller@example.com", "approver")
    )
    page = None
    try:
        async with app_with_worker(bootstrapped, smtp_server, "web-test") as base_url:
            # 1. The CFO submits an invoice within the limit and watches it get paid (live, no reload by hand).
            page = cfo = await _sign_in(browser, base_url, "cfo@example.com")
            await cfo.click("text=Submit")
            await cfo.fill("#raw_text", SAMPLES["01-acme-hosting.txt"])
            await cfo.click("#submit")
            await cfo.wait_for_url(re.compile(r"/app/invoices/[0-9a-f-]{36}$"))
            await cfo.locator("#status", has_text="paid").wait_for(timeout=60_000)
            assert (await cfo.locator("#tx").inner_text()).startswith("0x")

            # 2. Ops lowers the per-invoice limit below the next invoice's amount.
            page = ops = await _sign_in(browser, base_url, "ops@example.com")
            await ops.click("text=Settings")
            await ops.fill("#new_limit", "500")
            await ops.click("#save-limit")
            await ops.locator("#limit", has_text="500.00").wait_for()

            # 3. The next invoice (980.50) now takes the approval path.
            page = cfo
            await cfo.goto(f"{base_url}/app/invoices/new")
            await cfo.fill("#raw_text", SAMPLES["02-northwind.txt"])
            await cfo.click("#submit")
            await cfo.locator("#status", has_text="pending_approval").wait_for(timeout=60_000)
            invoice_url = cfo.url
            assert "approval" in (await cfo.locator("#reason").inner_text()).lower() or "limit" in (
                await cfo.locator("#reason").inner_text()
            )

            # 4. The approver sees it on the dashboard, opens it and approves; the CFO's page shows it paid.
            page = approver = await _sign_in(browser, base_url, "controller@example.com")
            await approver.click(f"a[href='{invoice_url.removeprefix(base_url)}']")
            await approver.click("button.approve")
            await approver.locator("#status", has_text="paid").wait_for(timeout=60_000)
            await cfo.locator("#status", has_text="paid").wait_for(timeout=60_000)

            # 5. On a phone-sized screen the dashboard fits without sideways scrolling.
            phone_context = await browser.new_context(viewport={"width": 390, "height": 844})
            phone = await phone_context.new_page()
            await phone.goto(f"{base_url}/login")
            assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    except Exception as exc:
        if page is not None:
            raise AssertionError(await screenshot_on_failure(page, tmp_path / "web.png")) from exc
        raise


async def test_forms_need_their_csrf_token_and_pages_need_a_session(client, bootstrapped: Settings) -> None:
    await _users(bootstrapped, ("cfo@example.com", "cfo"))
    assert (await client.get("/app")).status_code == 303
    assert (await client.get("/app")).headers["location"].startswith("/login")

    # Signing in needs the login form's own CSRF token (a cookie it set, echoed in the form).
    refused = await client.post("/login", data={"username": "cfo@example.com", "password": PASSWORD})
    assert refused.status_code == 403
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    signed_in = await client.post(
        "/login",
        data={"username": "cfo@example.com", "password": PASSWORD, "csrf": token, "next": "https://evil.example"},
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/app", "never an open redirect"
    for sneaky in ("//evil.example", "/\\evil.example", "/\t/evil.example"):
        page = await client.get("/login", params={"next": sneaky})
        assert f'value="{sneaky}"' not in page.text and 'name="next" value="/app"' in page.text
    assert "httponly" in signed_in.headers["set-cookie"].lower()

    dashboard = await client.get("/app")
    assert dashboard.status_code == 200 and "Treasury balance" in dashboard.text
    # A form posted without the page's CSRF token (as a forged cross-site post would be) changes nothing.
    forged = await client.post("/app/invoices", data={"raw_text": SAMPLES["01-acme-hosting.txt"]})
    assert forged.status_code == 403 and "Nothing was changed" in forged.text
    assert "No invoices yet." in (await client.get("/app/invoices")).text
    # The CFO is not ops: settings are refused.
    assert (await client.get("/app/settings")).status_code == 403


async def test_decisions_arrive_as_server_sent_events(bootstrapped: Settings) -> None:
    # Over real HTTP: httpx's in-process ASGI transport buffers a whole response, and an event stream never ends.
    await _users(bootstrapped, ("cfo@example.com", "cfo"))
    app = create_app(bootstrapped)
    async with live_server(app, free_port()) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        form = await client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        await client.post("/login", data={"username": "cfo@example.com", "password": PASSWORD, "csrf": token})
        page = await client.get("/app/invoices/new")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        submitted = await client.post(
            "/app/invoices", data={"raw_text": SAMPLES["04-unknown-vendor.txt"], "csrf": csrf}
        )
        assert submitted.status_code == 303
        invoice_id = submitted.headers["location"].rsplit("/", 1)[1]
        # No worker here: the submission is queued. Process it, then read its decisions from the stream.
        await app.state.treasurer.process(uuid.UUID(invoice_id))
        events: list[str] = []
        async with asyncio.timeout(30), client.stream("GET", f"/app/events?invoice={invoice_id}") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    events.append(line)
                    if '"step": "record"' in line:
                        break
    assert any('"outcome": "block"' in e for e in events) and '"step": "record"' in events[-1]


async def test_a_vendor_added_in_the_settings_page_is_verified_by_someone_else(bootstrapped: Settings) -> None:
    await _users(bootstrapped, ("ops@example.com", "ops"), ("ops.lead@example.com", "ops"))
    app = create_app(bootstrapped)

    async def signed_in(http: httpx.AsyncClient, email: str) -> str:
        form = await http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        await http.post("/login", data={"username": email, "password": PASSWORD, "csrf": token})
        page = await http.get("/app/settings")
        assert page.status_code == 200, page.text
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://treasurer.test") as ops,
        httpx.AsyncClient(transport=transport, base_url="http://treasurer.test") as lead,
    ):
        csrf = await signed_in(ops, "ops@example.com")
        address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        added = await ops.post(
            "/app/settings/vendors", data={"name": "Umbrella Logistics", "payout_address": address, "csrf": csrf}
        )
        assert added.status_code == 303
        page = (await ops.get("/app/settings")).text
        assert "awaits verification (registered by ops@example.com)" in page
        vendor_id = re.search(r'action="/app/settings/vendors/([0-9a-f-]{36})/verify"', page).group(1)

        own = await ops.post(f"/app/settings/vendors/{vendor_id}/verify", data={"csrf": csrf})
        assert own.status_code == 303 and "someone%20other%20than" in own.headers["location"]
        lead_csrf = await signed_in(lead, "ops.lead@example.com")
        verified = await lead.post(f"/app/settings/vendors/{vendor_id}/verify", data={"csrf": lead_csrf})
        assert verified.status_code == 303 and "error" not in verified.headers["location"]
        assert "verified by ops.lead@example.com" in (await lead.get("/app/settings")).text
