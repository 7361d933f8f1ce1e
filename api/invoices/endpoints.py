"""Invoice endpoints: synchronous processing (the original design's contract) and asynchronous intake."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from agents.extraction.pdf import invoice_text_from_upload, is_pdf
from agents.runtime import InvoiceResult
from api.deps import IntakeDep, TreasurerDep
from api.invoices.schemas import DecisionOut, InvoiceDetail, InvoiceSubmission, ProcessInvoiceResponse
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import InvoiceStatus
from finance.money import from_base_units

router = APIRouter(prefix="/api", tags=["invoices"])

# status of the invoice -> (HTTP status, client-facing status)
_RESPONSE = {
    InvoiceStatus.PAID: (200, "SUCCESS"),
    InvoiceStatus.PENDING_APPROVAL: (202, "PAUSED_FOR_APPROVAL"),
    InvoiceStatus.PAYING: (202, "PENDING_CONFIRMATION"),
    InvoiceStatus.BLOCKED: (403, "BLOCKED"),
    # The chain refused the payment: the request was fine, the upstream was not.
    InvoiceStatus.FAILED: (502, "FAILED"),
    InvoiceStatus.RECEIVED: (202, "QUEUED"),
    InvoiceStatus.PROCESSING: (202, "PROCESSING"),
    # Approval never came: refused like a block, with the approvers' reason.
    InvoiceStatus.REJECTED: (403, "REJECTED"),
    InvoiceStatus.EXPIRED: (403, "EXPIRED"),
    InvoiceStatus.CANCELLED: (409, "CANCELLED"),
}


def _body(result: InvoiceResult) -> ProcessInvoiceResponse:
    return ProcessInvoiceResponse(
        invoice_id=result.invoice_id,
        status=_RESPONSE[result.status][1],
        reason=result.reason,
        tx_hash=result.tx_hash,
        approval_id=str(result.approval_id) if result.approval_id else None,
    )


@router.post(
    "/process-invoice",
    response_model=ProcessInvoiceResponse,
    responses={
        202: {"description": "Needs approval, or paid but awaiting confirmations", "model": ProcessInvoiceResponse},
        403: {"description": "Blocked by policy", "model": ProcessInvoiceResponse},
        422: {"description": "Not a readable invoice text"},
        502: {"description": "The chain refused the payment", "model": ProcessInvoiceResponse},
    },
)
async def process_invoice(submission: InvoiceSubmission, treasurer: TreasurerDep) -> JSONResponse:
    """Process an invoice now and answer with the decision: paid (200), pending (202) or blocked (403)."""
    invoice_id = await treasurer.submit(submission.raw_text, submission.submitted_by)
    result = await treasurer.process(invoice_id)
    return JSONResponse(status_code=_RESPONSE[result.status][0], content=_body(result).model_dump(mode="json"))


@router.post(
    "/process-invoice/document",
    response_model=ProcessInvoiceResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        202: {"description": "Needs approval, or paid but awaiting confirmations", "model": ProcessInvoiceResponse},
        403: {"description": "Blocked by policy", "model": ProcessInvoiceResponse},
        422: {"description": "Not a readable document (scanned PDF, encrypted, binary, empty)"},
    },
)
async def process_invoice_document(request: Request, treasurer: TreasurerDep) -> JSONResponse:
    """Process an invoice sent as the request body: a text PDF (`application/pdf`) or UTF-8 text.
    Answers like `POST /api/process-invoice`; the PDF is kept beside the text read from it."""
    data = await request.body()
    content_type = request.headers.get("content-type")
    # pypdf is CPU-bound: parse off the event loop so other requests keep flowing.
    text = await asyncio.to_thread(invoice_text_from_upload, data, None, content_type)
    invoice_id = await treasurer.submit(
        text, document=data if is_pdf(data) else None, document_type="application/pdf" if is_pdf(data) else None
    )
    result = await treasurer.process(invoice_id)
    return JSONResponse(status_code=_RESPONSE[result.status][0], content=_body(result).model_dump(mode="json"))


@router.post("/invoices", status_code=status.HTTP_202_ACCEPTED, response_model=ProcessInvoiceResponse)
async def submit_invoice(
    submission: InvoiceSubmission, treasurer: TreasurerDep, intake: IntakeDep
) -> ProcessInvoiceResponse:
    """Store the invoice and queue it for a worker; poll `GET /api/invoices/{id}` for the decision."""
    invoice_id = await treasurer.submit(submission.raw_text, submission.submitted_by)
    # Stored first, queued second: if Redis loses the entry, the worker's requeue finds the invoice.
    await intake.enqueue(invoice_id)
    return ProcessInvoiceResponse(invoice_id=invoice_id, status="QUEUED")


@router.get("/invoices/{invoice_id}", response_model=InvoiceDetail)
async def get_invoice(invoice_id: uuid.UUID, treasurer: TreasurerDep) -> InvoiceDetail:
    """The invoice, its outcome and its full decision trail."""
    result = await treasurer.result(invoice_id)
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        decisions = await DecisionLog(session).for_invoice(invoice_id)
    decimals = treasurer.context.token.decimals
    return InvoiceDetail(
        **_body(result).model_dump(),
        vendor=invoice.vendor_name,
        invoice_number=invoice.invoice_number,
        currency=invoice.currency,
        total=str(from_base_units(invoice.total_units, decimals)) if invoice.total_units is not None else None,
        decisions=[DecisionOut.model_validate(d, from_attributes=True) for d in decisions],
    )
