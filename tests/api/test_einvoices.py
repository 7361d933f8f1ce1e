"""E-invoices through the API (offline extractor, PostgreSQL, anvil): a Factur-X PDF, an XRechnung CII and a
Peppol UBL file are read from their XML and paid when honest; a PDF whose visible text disagrees with its XML
goes to a person, a UBL credit note is blocked, invalid XML is refused with a 422 and nothing stored; and with
a lying model configured, the model is never asked and cannot override the XML."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from api.app import create_app
from finance import vendor_changes
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import Invoice
from finance.settings import Settings
from finance.vendors import VendorRepository
from tests.agents.extraction.einvoice.test_xml import BILLION_LAUGHS
from tests.fixtures.einvoices import Bill, cii_xml, facturx_pdf, ubl_xml
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture
from tests.fixtures.people import TEST_PASSWORD, actor, ensure_user

SELLER = "Rheinwerk Cloud GmbH"
IBAN = "DE02120300000000202051"
WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
LINES = (
    ("Kubernetes cluster, May 2025", Decimal("1"), Decimal("800.00")),
    ("Egress (TB)", Decimal("3"), Decimal("40.00")),
)
BILL = Bill(seller=SELLER, seller_vat="DE811907980", number="RW-2025-0501", iban=IBAN, lines=LINES)
PAGE = """\
Rheinwerk Cloud GmbH
Speicherstrasse 4, 20457 Hamburg, Germany
VAT ID: DE811907980

INVOICE

Invoice No: {number}
Invoice date: 2025-05-06
Due date: 2025-06-05

Bill to: Example Corp, 1 Market Street, San Francisco

Description                         Qty   Unit price      Amount
{rows}

Total: USD {total}

Please pay to IBAN {iban}
"""
ROWS = """\
Kubernetes cluster, May 2025          1       800.00      800.00
Egress (TB)                           3        40.00      120.00"""


def page(number: str, total: str = "920.00", iban: str = "DE02 1203 0000 0000 2020 51", rows: str = ROWS) -> str:
    return PAGE.format(number=number, total=total, iban=iban, rows=rows)


@pytest_asyncio.fixture
async def rheinwerk(bootstrapped: Settings) -> None:
    """A vendor paid at its wallet whose bank account is on file, registered and verified by two people."""
    from agents.runtime import open_treasurer

    async with open_treasurer(bootstrapped) as treasurer, treasurer.sessions.begin() as session:
        registrar = await actor(session, "registrar@example.com", "ops")
        verifier = await actor(session, "verifier@example.com", "ops")
        added = await VendorRepository(session).add(SELLER, WALLET, registered_by=registrar, known_accounts=[IBAN])
        await vendor_changes.verify(session, added.id, verifier)


async def _upload(http: httpx.AsyncClient, cfo: dict, data: bytes, content_type: str) -> httpx.Response:
    return await http.post("/api/process-invoice/document", content=data, headers={**cfo, "content-type": content_type})


async def _stored(http: httpx.AsyncClient, invoice_id: str) -> tuple[Invoice, bytes | None, dict]:
    treasurer = http._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(uuid.UUID(invoice_id))
        document = await session.scalar(select(Invoice.document).where(Invoice.id == invoice.id))
        decision = await DecisionLog(session).latest(invoice.id, "extract")
        return invoice, document, decision.details


async def test_an_honest_factur_x_invoice_is_paid_from_its_xml(
    client: httpx.AsyncClient, cfo: dict, rheinwerk: None
) -> None:
    pdf = facturx_pdf(page("RW-2025-0501"), cii_xml(BILL))
    response = await _upload(client, cfo, pdf, "application/pdf")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS" and body["tx_hash"].startswith("0x"), body
    invoice, document, details = await _stored(client, body["invoice_id"])
    assert (invoice.text_source, invoice.document_type, document) == ("einvoice", "application/pdf", pdf)
    assert "Invoice No: RW-2025-0501" in invoice.raw_text  # the visible text, as a reviewer reads it
    assert details["engine"] == "einvoice" and details["text_source"] == "einvoice"
    assert details["fields"]["total"] == "920.00" and details["checks"]["flags"] == []


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(cii_xml(BILL.but(number="RW-2025-0502"), guideline=XRECHNUNG), id="xrechnung-cii"),
        pytest.param(ubl_xml(BILL.but(number="RW-2025-0502")), id="peppol-ubl"),
    ],
)
async def test_an_xml_e_invoice_is_paid_and_kept(
    client: httpx.AsyncClient, cfo: dict, rheinwerk: None, xml: bytes
) -> None:
    response = await _upload(client, cfo, xml, "application/xml")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS", body
    invoice, document, details = await _stored(client, body["invoice_id"])
    assert (invoice.text_source, invoice.document_type, document) == ("einvoice", "application/xml", xml)
    assert "Amount due: USD 920.00" in invoice.raw_text and "Seller: Rheinwerk Cloud GmbH" in invoice.raw_text
    assert details["engine"] == "einvoice"


@pytest.mark.parametrize(
    ("visible", "bill", "flag"),
    [
        pytest.param(
            page(
                "RW-2025-0503",
                total="4,950.00",
                rows="Dedicated server, May 2025            1     4,950.00    4,950.00",
            ),
            BILL.but(number="RW-2025-0503", lines=(("Dedicated server, May 2025", Decimal("1"), Decimal("49.50")),)),
            "einvoice_mismatch:total",
            id="visible-4950-xml-49.50",
        ),
        pytest.param(
            page("RW-2025-0504"),
            BILL.but(number="RW-2025-0504", iban="GB82WEST12345698765432"),
            "einvoice_mismatch:payee_account",
            id="xml-iban-differs-from-the-page",
        ),
    ],
)
async def test_a_page_that_disagrees_with_its_xml_goes_to_a_person(
    client: httpx.AsyncClient,
    cfo: dict,
    rheinwerk: None,
    visible: str,
    bill: Bill,
    flag: str,
) -> None:
    response = await _upload(client, cfo, facturx_pdf(visible, cii_xml(bill)), "application/pdf")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PAUSED_FOR_APPROVAL" and body["tx_hash"] is None, body
    assert flag in body["reason"], body["reason"]


async def test_a_ubl_credit_note_is_blocked(client: httpx.AsyncClient, cfo: dict, rheinwerk: None) -> None:
    response = await _upload(client, cfo, ubl_xml(BILL.but(type_code="381"), credit_note=True), "application/xml")
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["status"] == "BLOCKED" and body["tx_hash"] is None
    assert "credit note" in body["reason"], body["reason"]


async def test_lines_that_do_not_add_up_in_the_xml_go_to_a_person(
    client: httpx.AsyncClient,
    cfo: dict,
    rheinwerk: None,
) -> None:
    xml = ubl_xml(BILL.but(number="RW-2025-0505", line_total_override=Decimal("4800.00")))
    response = await _upload(client, cfo, xml, "application/xml")
    assert response.status_code == 202, response.text
    assert "inconsistent:lines_vs_total" in response.json()["reason"]


INVALID = [
    pytest.param(b"<?xml version='1.0'?><rsm:CrossIndustryInvoice>", "application/xml", "well-formed", id="malformed"),
    pytest.param(BILLION_LAUGHS, "application/xml", "declares a DTD", id="billion-laughs"),
    pytest.param(
        cii_xml(BILL).replace(
            b'<?xml version="1.0" encoding="UTF-8"?>',
            b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY s SYSTEM "file:///etc/passwd">]>',
        ),
        "application/xml",
        "declares a DTD",
        id="xxe",
    ),
    pytest.param(b"<?xml version='1.0'?><order><id>1</id></order>", "text/xml", "root element is <order>", id="root"),
    pytest.param(
        ubl_xml(BILL).replace(b"PayableAmount", b"Payable"), "application/xml", "amount due (BT-115)", id="no-total"
    ),
    pytest.param(
        None,  # built by _broken_facturx: the factur-x library will not embed a broken XML
        "application/pdf",
        "attached e-invoice XML is invalid",
        id="factur-x-with-broken-xml",
    ),
]


def _broken_facturx() -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    from tests.fixtures.pdfs import text_pdf

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(page("RW-2025-0506")))))
    writer.add_attachment("factur-x.xml", cii_xml(BILL).replace(b"</rsm:CrossIndustryInvoice>", b""))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("data", "content_type", "message"), INVALID)
async def test_invalid_e_invoices_get_a_clear_422_and_nothing_is_stored(
    client: httpx.AsyncClient, cfo: dict, data: bytes | None, content_type: str, message: str
) -> None:
    response = await _upload(client, cfo, data if data is not None else _broken_facturx(), content_type)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_einvoice" and message in response.json()["detail"]
    assert "root:" not in response.text  # /etc/passwd was never read
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


async def test_a_lying_model_cannot_override_the_xml(
    read_by_model: httpx.AsyncClient,
    cfo: dict,
    rheinwerk: None,
    openai_server: FakeOpenAI,  # noqa: F811 - the fixture, by name
) -> None:
    # What a model would say if asked: a total under the page's, and a stranger's account.
    openai_server.reply_structured(
        {
            "vendor": SELLER,
            "invoice_number": "RW-2025-0507",
            "total": "9.20",
            "currency": "USD",
            "payee_account": "GB82WEST12345698765432",
            "line_items": [],
        }  # fmt: skip
    )
    honest_pdf = facturx_pdf(page("RW-2025-0507"), cii_xml(BILL.but(number="RW-2025-0507")))
    honest = await _upload(read_by_model, cfo, honest_pdf, "application/pdf")
    assert honest.status_code == 200, honest.text
    _, _, details = await _stored(read_by_model, honest.json()["invoice_id"])
    assert details["engine"] == "einvoice" and details["fields"]["total"] == "920.00"

    forged = facturx_pdf(page("RW-2025-0508", total="4,950.00"), cii_xml(BILL.but(number="RW-2025-0508")))
    held = await _upload(read_by_model, cfo, forged, "application/pdf")
    assert held.status_code == 202 and held.json()["tx_hash"] is None, held.text
    assert "einvoice_mismatch:total" in held.json()["reason"]
    assert openai_server.requests == []  # exact data is not handed to a model to re-read


async def test_the_web_form_takes_an_e_invoice_and_refuses_an_invalid_one(bootstrapped: Settings) -> None:
    app = create_app(bootstrapped)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://treasurer.test") as http,
    ):
        async with app.state.treasurer.sessions.begin() as session:
            await ensure_user(session, "cfo@example.com", "cfo")
        form = await http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        await http.post("/login", data={"username": "cfo@example.com", "password": TEST_PASSWORD, "csrf": token})
        page = await http.get("/app/invoices/new")
        assert "application/xml" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

        xml = ubl_xml(BILL.but(number="RW-2025-0509"))
        sent = await http.post(
            "/app/invoices", data={"csrf": csrf}, files={"document": ("RW-2025-0509.xml", xml, "application/xml")}
        )
        assert sent.status_code == 303 and "error" not in sent.headers["location"], sent.headers
        invoice, document = await _stored_invoice(http, sent.headers["location"].rsplit("/", 1)[1])
        assert (invoice.text_source, invoice.document_type, document) == ("einvoice", "application/xml", xml)

        refused = await http.post(
            "/app/invoices", data={"csrf": csrf}, files={"document": ("bomb.xml", BILLION_LAUGHS, "text/xml")}
        )
        assert refused.status_code == 303 and "declares%20a%20DTD" in refused.headers["location"]


async def _stored_invoice(http: httpx.AsyncClient, invoice_id: str) -> tuple[Invoice, bytes | None]:
    # Stored only: a web submission is processed after the answer, so its decisions may not be written yet.
    treasurer = http._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(uuid.UUID(invoice_id))
        return invoice, await session.scalar(select(Invoice.document).where(Invoice.id == invoice.id))


def test_the_parse_command_reads_an_e_invoice_from_its_xml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from api.commands.extraction import register
    from finance.settings import get_settings

    for name in ("TREASURER_LLM_MODEL", "TREASURER_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(facturx_pdf(page("RW-2025-0510", total="4,950.00"), cii_xml(BILL.but(number="RW-2025-0510"))))
    try:
        result = CliRunner().invoke(app, ["parse", "--json", str(pdf)])
        shown = CliRunner().invoke(app, ["parse", str(pdf)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == "920.00"  # the XML's, not the page's 4,950.00
    assert "engine: einvoice" in shown.stdout and "einvoice_mismatch:total" in " ".join(shown.stdout.split())
