"""Invoice endpoints: synchronous processing (the original design's contract) and asynchronous intake."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse

from agents.extraction.uploads import TextSource
from agents.runtime import InvoiceResult
from api.auth import require_roles
from api.deps import DocumentReadersDep, IntakeDep, TreasurerDep
from api.idempotency import fingerprint, run_once
from api.invoices.queries import list_invoices
from api.invoices.schemas import (
    DecisionOut,
    InvoiceDetail,
    InvoicePage,
    InvoiceSubmission,
    InvoiceSummary,
    ProcessInvoiceResponse,
)
from finance.api_keys import Principal
from finance.decisions import DecisionLog
from finance.invoices import InvoiceRepository
from finance.models import InvoiceStatus
from finance.money import from_base_units

router = APIRouter(prefix="/api", tags=["invoices"])

# Who submits invoices; the caller is recorded as the submitter, who never approves their own invoice.
SubmitterPrincipal = Annotated[Principal, Depends(require_roles("cfo"))]
InvoiceReader = Annotated[Principal, Depends(require_roles("cfo", "approver", "ops", "auditor", "admin"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the first answer instead of submitting again; "
        "the same key with a different body is refused (422).",
        examples=["3f1c2a7e-invoice-2024-001"],
    ),
]
_AUTH = {401: {"description": "No valid credential"}, 409: {"description": "Same Idempotency-Key still in progress"}}

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
        **_AUTH,
        202: {"description": "Needs approval, or paid but awaiting confirmations", "model": ProcessInvoiceResponse},
        403: {"description": "Blocked by policy (or the caller lacks the cfo role)", "model": ProcessInvoiceResponse},
        422: {"description": "Not a readable invoice text"},
        502: {"description": "The chain refused the payment", "model": ProcessInvoiceResponse},
    },
)
async def process_invoice(
    request: Request,
    submission: InvoiceSubmission,
    principal: SubmitterPrincipal,
    treasurer: TreasurerDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Process an invoice now and answer with the decision: paid (200), pending (202) or blocked (403)."""

    async def produce() -> tuple[int, dict]:
        invoice_id = await treasurer.submit(submission.raw_text, principal.actor)
        result = await treasurer.process(invoice_id)
        return _RESPONSE[result.status][0], _body(result).model_dump(mode="json")

    return await run_once(
        treasurer,
        principal=str(principal.user_id),
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, await request.body()) if idempotency_key else "",
        produce=produce,
    )


@router.post(
    "/process-invoice/document",
    response_model=ProcessInvoiceResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/xml": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/tiff": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        **_AUTH,
        202: {"description": "Needs approval, or paid but awaiting confirmations", "model": ProcessInvoiceResponse},
        403: {"description": "Blocked by policy (or the caller lacks the cfo role)", "model": ProcessInvoiceResponse},
        422: {
            "description": "Not a readable document (encrypted, damaged, binary, empty, a scan with no legible "
            "text, an image over 40 million pixels or a scan over 10 pages), or an invalid e-invoice (code "
            "invalid_einvoice: malformed XML, a DTD or entities, not CII/UBL, required values missing)"
        },
        503: {
            "description": "Scans cannot be read on this server: the OCR program (tesseract) is not installed "
            "(code ocr_unavailable); or every document reader is busy and the queue is full (code readers_busy, "
            "with Retry-After): nothing was stored, send the document again"
        },
    },
)
async def process_invoice_document(
    request: Request,
    principal: SubmitterPrincipal,
    treasurer: TreasurerDep,
    readers: DocumentReadersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Process an invoice sent as the request body: a text PDF (`application/pdf`), an e-invoice (a Factur-X/ZUGFeRD
    PDF, or XRechnung / Peppol BIS 3.0 CII or UBL XML), a scan (`image/png`, `image/jpeg`, `image/tiff`, or a PDF
    without a text layer) read by OCR, or UTF-8 text; the bytes decide, not the content type. Answers like
    `POST /api/process-invoice`; the document is kept beside the text read from it, an e-invoice is paid on its
    XML's values, and an OCR-read value the OCR was unsure of sends the invoice to approval."""
    data = await request.body()
    content_type = request.headers.get("content-type")

    async def produce() -> tuple[int, dict]:
        # PDF parsing and OCR are CPU-bound: read off the event loop, on the readers' own bounded pool.
        read = await readers.read(data, None, content_type)
        invoice_id = await treasurer.submit(
            read.text,
            principal.actor,
            document=read.document,
            document_type=read.document_type,
            text_source=read.source,
            ocr_doubtful_spans=read.doubtful_spans if read.source == TextSource.OCR else None,
        )
        result = await treasurer.process(invoice_id)
        return _RESPONSE[result.status][0], _body(result).model_dump(mode="json")

    return await run_once(
        treasurer,
        principal=str(principal.user_id),
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, (content_type or "").encode() + b"\n" + data)
        if idempotency_key
        else "",
        produce=produce,
    )


@router.post("/invoices", status_code=status.HTTP_202_ACCEPTED, response_model=ProcessInvoiceResponse, responses=_AUTH)
async def submit_invoice(
    request: Request,
    submission: InvoiceSubmission,
    principal: SubmitterPrincipal,
    treasurer: TreasurerDep,
    intake: IntakeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Store the invoice and queue it for a worker; poll `GET /api/invoices/{id}` for the decision."""

    async def produce() -> tuple[int, dict]:
        invoice_id = await treasurer.submit(submission.raw_text, principal.actor)
        # Stored first, queued second: if Redis loses the entry, the worker's requeue finds the invoice.
        await intake.enqueue(invoice_id)
        return 202, ProcessInvoiceResponse(invoice_id=invoice_id, status="QUEUED").model_dump(mode="json")

    return await run_once(
        treasurer,
        principal=str(principal.user_id),
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, await request.body()) if idempotency_key else "",
        produce=produce,
    )


@router.get("/invoices", response_model=InvoicePage, responses=_AUTH)
async def invoices(
    _: InvoiceReader,
    treasurer: TreasurerDep,
    status_filter: Annotated[
        Literal[
            "received",
            "processing",
            "pending_approval",
            "blocked",
            "paying",
            "paid",
            "failed",
            "rejected",
            "expired",
            "cancelled",
        ]
        | None,
        Query(alias="status"),
    ] = None,
    vendor: Annotated[str | None, Query(max_length=200, description="Part of the vendor's name")] = None,
    submitted_by: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> InvoicePage:
    """Invoices, newest first, filtered by status, vendor, submitter and time."""
    async with treasurer.sessions() as session:
        rows, total = await list_invoices(
            session,
            status=status_filter,
            vendor=vendor,
            submitted_by=submitted_by,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    decimals = treasurer.context.token.decimals
    return InvoicePage(
        items=[
            InvoiceSummary(
                invoice_id=i.id,
                status=i.status,
                vendor=i.vendor_name,
                invoice_number=i.invoice_number,
                currency=i.currency,
                total=str(from_base_units(i.total_units, decimals)) if i.total_units is not None else None,
                submitted_by=i.submitted_by,
                reason=i.reason,
                created_at=i.created_at,
            )
            for i in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/invoices/{invoice_id}", response_model=InvoiceDetail, responses={**_AUTH, 404: {"description": "No such invoice"}}
)
async def get_invoice(invoice_id: uuid.UUID, _: InvoiceReader, treasurer: TreasurerDep) -> InvoiceDetail:
    """The invoice, its outcome and its full decision trail."""
    result = await treasurer.result(invoice_id)
    async with treasurer.sessions() as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        decisions = await DecisionLog(session).for_invoice(invoice_id)
    decimals = treasurer.context.token.decimals
    return InvoiceDetail(
        **_body(result).model_dump(),
        text_source=invoice.text_source,
        vendor=invoice.vendor_name,
        invoice_number=invoice.invoice_number,
        currency=invoice.currency,
        total=str(from_base_units(invoice.total_units, decimals)) if invoice.total_units is not None else None,
        decisions=[DecisionOut.model_validate(d, from_attributes=True) for d in decisions],
    )
