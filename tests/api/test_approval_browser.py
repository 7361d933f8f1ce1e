"""End to end with real parts: the API served on loopback, a worker, a real SMTP server receiving the mail,
and chromium opening the mail's Approve link and pressing the button; the invoice is then paid on anvil."""

from __future__ import annotations

import asyncio
import re
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from finance.settings import Settings
from tests.fixtures.approvals import globex_invoice
from tests.fixtures.browser import app_with_worker, screenshot_on_failure
from tests.fixtures.credentials import access_token
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.asyncio

WAIT_SECONDS = 60


async def _eventually(what: str, check, seconds: float = WAIT_SECONDS):
    for _ in range(int(seconds * 10)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


async def test_an_approver_clicks_the_mailed_link_in_chromium_and_the_invoice_is_paid(
    bootstrapped: Settings,
    smtp_server: SmtpServer,
    browser,
    tmp_path: Path,
) -> None:
    async with (
        app_with_worker(bootstrapped, smtp_server, "browser-test") as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        number = f"GX-{uuid.uuid4().hex[:6]}"
        submitted = await http.post(
            "/api/process-invoice",
            json={"raw_text": globex_invoice(number, Decimal("23500"))},
            headers={"Authorization": f"Bearer {await access_token(bootstrapped, 'cfo@example.com', 'cfo')}"},
            timeout=60,
        )
        assert submitted.status_code == 202, submitted.text
        invoice_id = submitted.json()["invoice_id"]
        reader = {"Authorization": f"Bearer {await access_token(bootstrapped, 'cfo@example.com', 'cfo')}"}

        mail = await _eventually("the approval mail", lambda: _first_mail(smtp_server))
        assert mail["To"] == "controller@example.com"
        assert number in mail["Subject"] and "23,500.00 USD" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        approve_url = re.search(r"^Approve:\s*(\S+)", text, re.M).group(1)
        assert approve_url.startswith(f"{base_url}/approvals/link?token=")
        html = mail.get_body(("html",)).get_content()
        assert "Approve" in html and "Reject" in html

        page = await browser.new_page()
        try:
            await page.goto(approve_url)
            await page.get_by_role("heading", name="Approve this invoice?").wait_for()
            assert "Globex Corporation" in await page.content()
            # Opening the page decided nothing.
            status = (await http.get(f"/api/invoices/{invoice_id}", headers=reader)).json()["status"]
            assert status == "PAUSED_FOR_APPROVAL"
            await page.get_by_role("button", name="Approve payment").click()
            await page.get_by_text("Your vote is recorded").wait_for()
            assert "the payment follows" in await page.locator("#result").inner_text()
        except Exception as exc:
            raise AssertionError(await screenshot_on_failure(page, tmp_path / "approval.png")) from exc

        async def paid() -> dict | None:
            body = (await http.get(f"/api/invoices/{invoice_id}", headers=reader)).json()
            return body if body["status"] == "SUCCESS" else None

        body = await _eventually("the payment after the approval", paid)
        assert body["tx_hash"]
        assert [d["outcome"] for d in body["decisions"] if d["step"] == "approval"][-1] == "approved"

        # On a phone-sized screen the page still shows the decision button without sideways scrolling.
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.goto(approve_url)
        assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert "already approved" in await phone.content()


async def _first_mail(smtp_server: SmtpServer):
    return smtp_server.messages[0] if smtp_server.messages else None
