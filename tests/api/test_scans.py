"""Scanned invoices through POST /api/process-invoice/document (offline extractor, PostgreSQL, anvil): a clean scan
from a verified vendor is paid and marked as read by OCR; a smudged, faint, doubled or small-print total never
is; hostile and blank images are refused with a clear 422; a server without tesseract answers 503; a lying model
reading OCR text still leaves the decision to a person."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import httpx
import pytesseract
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from api.demo import sample_invoices
from finance.models import Invoice, Payment
from finance.settings import Settings
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture
from tests.fixtures.people import TEST_PASSWORD, ensure_user
from tests.fixtures.scans import LINE_PX, MARGIN, blank_page, blurred, bomb_png, encoded, font, line_box, render

ACME = dict(sample_invoices())["01-acme-hosting.txt"]  # ACME Hosting GmbH is registered and verified
URL = "/api/process-invoice/document"


def _acme(number: str) -> str:
    return ACME.replace("INV-2024-001", number)


async def _send(http: httpx.AsyncClient, cfo: dict, data: bytes, content_type: str = "image/png") -> httpx.Response:
    return await http.post(URL, content=data, headers={**cfo, "content-type": content_type})


async def test_a_clean_scan_is_paid_and_marked_as_read_by_ocr(client: httpx.AsyncClient, cfo: dict) -> None:
    image = encoded(render(_acme("INV-2024-101")))
    response = await _send(client, cfo, image)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS" and body["tx_hash"].startswith("0x")
    detail = (await client.get(f"/api/invoices/{body['invoice_id']}", headers=cfo)).json()
    assert detail["text_source"] == "ocr"
    assert detail["invoice_number"] == "INV-2024-101" and Decimal(detail["total"]) == Decimal("1250")
    extract = next(d for d in detail["decisions"] if d["step"] == "extract")
    assert extract["details"]["text_source"] == "ocr" and "of OCR text" in extract["reason"]
    assert extract["details"]["checks"]["flags"] == []
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        invoice = await session.get(Invoice, body["invoice_id"])
        assert invoice.document_type == "image/png" and invoice.ocr_doubtful_spans is not None
        assert await session.scalar(select(Invoice.document).where(Invoice.id == invoice.id)) == image


def _smudged() -> Image.Image:
    # The amount's first digit sharp, the rest blurred: read confidently as "1".
    text = _acme("INV-2024-102")
    return blurred(render(text), line_box(text, "Total:", column=12), radius=2.5)


def _faint() -> Image.Image:
    text = _acme("INV-2024-103").replace("Total: USD 1,250.00", "Total: USD")
    image = render(text)
    row = text.split("\n").index("Total: USD")
    x = MARGIN + int(font().getlength("Total: USD "))
    ImageDraw.Draw(image).text((x, MARGIN + row * LINE_PX), "1,250.00", font=font(), fill=170)
    return image


def _small_print() -> Image.Image:
    text = _acme("INV-2024-104").replace("Total: USD 1,250.00", "Total: USD")
    image = render(text)
    row = text.split("\n").index("Total: USD")
    x = MARGIN + int(font().getlength("Total: USD "))
    # The amount the lines add up to, but in 12 px print beside 20 px: read, and doubted for its size alone.
    ImageDraw.Draw(image).text((x, MARGIN + row * LINE_PX + 5), "1,250.00", font=font(12), fill=0)
    return image


def _two_totals() -> Image.Image:
    return render(_acme("INV-2024-105") + "\nTotal: USD 9,250.00")


@pytest.mark.parametrize(
    ("scan", "flag"),
    [
        pytest.param(_smudged, "ocr_uncertain:total", id="smudged-total"),
        pytest.param(_faint, None, id="faint-total"),  # not read at all: no payable amount, blocked
        pytest.param(_small_print, "ocr_uncertain:total", id="small-print-total"),
        pytest.param(_two_totals, "several_totals", id="total-printed-twice"),
    ],
)
async def test_a_doubtful_total_is_never_paid(client: httpx.AsyncClient, cfo: dict, scan, flag: str | None) -> None:
    response = await _send(client, cfo, encoded(scan()))

    assert response.status_code in (202, 403), response.text
    body = response.json()
    assert body["status"] in ("PAUSED_FOR_APPROVAL", "BLOCKED") and body["tx_hash"] is None, body
    if flag:
        assert body["status"] == "PAUSED_FOR_APPROVAL" and flag in body["reason"], body
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(bomb_png, "too many pixels", id="decompression-bomb"),
        pytest.param(lambda: encoded(blank_page()), "no text could be read from this scan", id="blank"),
        pytest.param(lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "damaged", id="truncated-png"),
    ],
)
async def test_unreadable_images_get_a_clear_422_and_nothing_is_stored(
    client: httpx.AsyncClient,
    cfo: dict,
    data,
    message: str,
) -> None:
    response = await _send(client, cfo, data())

    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


async def test_without_tesseract_the_answer_is_503_for_the_operator(
    client: httpx.AsyncClient, cfo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    response = await _send(client, cfo, encoded(render("Invoice No: 1")))

    assert response.status_code == 503, response.text
    assert response.json()["code"] == "ocr_unavailable" and "tesseract-ocr" in response.json()["detail"]


async def test_a_lying_model_reading_a_scan_still_leaves_it_to_a_person(
    read_by_model: httpx.AsyncClient,
    cfo: dict,
    openai_server: FakeOpenAI,  # noqa: F811 - the fixture, by name
) -> None:
    # The model reports a line item's amount as the total and a stranger's account: printed, hence grounded in
    # the OCR text, but the offline reading disagrees, so a person decides.
    openai_server.reply_structured(
        {
            "vendor": "ACME Hosting GmbH",
            "invoice_number": "INV-2024-106",
            "issue_date": "2024-03-05",
            "total": "250.00",
            "currency": "USD",
            "payee_account": None,
            "line_items": [],
        }
    )
    response = await _send(read_by_model, cfo, encoded(render(_acme("INV-2024-106"))))
    body = response.json()
    assert body["status"] in ("PAUSED_FOR_APPROVAL", "BLOCKED") and body["tx_hash"] is None, body
    assert "disagreement:total" in body["reason"]
    detail = (await read_by_model.get(f"/api/invoices/{body['invoice_id']}", headers=cfo)).json()
    assert detail["text_source"] == "ocr"
    assert len(openai_server.requests) == 1
    # What the model was given is the OCR text, the reading every value is grounded in.
    assert "INV-2024-106" in str(openai_server.requests[0].body)


async def test_a_scan_uploaded_in_the_web_app_is_shown_as_read_by_ocr(
    client: httpx.AsyncClient, bootstrapped: Settings
) -> None:
    async with treasurer_sessions(client).begin() as session:
        await ensure_user(session, "cfo@example.com", "cfo")
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    await client.post("/login", data={"username": "cfo@example.com", "password": TEST_PASSWORD, "csrf": token})
    page = await client.get("/app/invoices/new")
    assert "image/png,image/jpeg,image/tiff" in page.text.split('accept="', 1)[1].split('"', 1)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    submitted = await client.post(
        "/app/invoices",
        data={"csrf": csrf},
        files={"document": ("scan.png", encoded(render(_acme("INV-2024-107"))), "image/png")},
    )

    assert submitted.status_code == 303, submitted.text
    invoice_id = submitted.headers["location"].rsplit("/", 1)[1]
    shown = await client.get(f"/app/invoices/{invoice_id}")
    assert "a scan, by OCR" in shown.text  # from the start, before it is read into fields
    # Queued for a worker (none runs here): processed in its place.
    result = await client._transport.app.state.treasurer.process(uuid.UUID(invoice_id))
    assert result.status == "paid"
    assert "INV-2024-107" in (await client.get(f"/app/invoices/{invoice_id}")).text


def treasurer_sessions(client: httpx.AsyncClient):
    return client._transport.app.state.treasurer.sessions
