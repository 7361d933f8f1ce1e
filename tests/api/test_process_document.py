"""POST /api/process-invoice/document: an invoice sent as a PDF or as plain text."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from api.demo import sample_invoices
from finance.invoices import InvoiceRepository
from finance.models import Invoice
from tests.fixtures.pdfs import scanned_pdf, text_pdf

ACME = dict(sample_invoices())["01-acme-hosting.txt"]


async def test_a_text_pdf_is_read_paid_and_kept(client: httpx.AsyncClient, cfo: dict) -> None:
    pdf = text_pdf(ACME)
    response = await client.post(
        "/api/process-invoice/document", content=pdf, headers={**cfo, "content-type": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS" and body["tx_hash"].startswith("0x")
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(body["invoice_id"])
        assert "INV-2024-001" in invoice.raw_text
        assert await session.scalar(select(Invoice.document).where(Invoice.id == invoice.id)) == pdf


async def test_plain_text_body_is_processed_too(client: httpx.AsyncClient, cfo: dict) -> None:
    response = await client.post(
        "/api/process-invoice/document", content=ACME.encode(), headers={**cfo, "content-type": "text/plain"}
    )
    assert response.status_code == 200 and response.json()["status"] == "SUCCESS"


async def test_a_scanned_pdf_is_read_by_ocr_and_kept(client: httpx.AsyncClient, cfo: dict) -> None:
    # Scans are read by OCR (tests/api/test_scans.py): whatever is decided, the text is marked as an OCR reading.
    pdf = scanned_pdf()
    response = await client.post(
        "/api/process-invoice/document", content=pdf, headers={**cfo, "content-type": "application/pdf"}
    )
    assert response.status_code in (200, 202, 403), response.text
    treasurer = client._transport.app.state.treasurer
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(response.json()["invoice_id"])
        assert invoice.text_source == "ocr" and invoice.document_type == "application/pdf"
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
