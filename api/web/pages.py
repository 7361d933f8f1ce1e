"""The web app's pages. GET renders; every POST checks the CSRF token and redirects (post/redirect/get)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from agents.extraction.pdf import MAX_UPLOAD_BYTES
from agents.extraction.uploads import ReadDocument, TextSource
from api.approvals.service import vote
from api.deps import DocumentReadersDep, IntakeDep, SettingsDep, TreasurerDep
from api.invoices.queries import list_invoices
from api.policies.service import current_limit, set_limit
from api.users.service import authenticate
from api.users.throttle import throttled
from api.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    SignInNeeded,
    WebForbidden,
    WebUser,
    check_csrf,
    check_login_csrf,
    csrf_for,
    new_login_csrf,
    require,
)
from api.web.views import dashboard, invoice_page
from finance import vendor_changes
from finance.errors import TreasurerError
from finance.models import PolicyStatus, Vendor
from finance.policy_store import PolicyStore
from finance.vendors import VendorRepository

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}


def _render(request: Request, template: str, principal=None, status_code: int = 200, **context) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    context |= {"me": principal, "csrf": csrf_for(request, token) if token else ""}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _local(path: str | None) -> str:
    # Only paths of this site: `next=https://evil.example` must not turn the login into an open redirect, and
    # browsers read `//host` and `/\host` as another host.
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/app"
    return path


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    if name not in _STATIC:
        raise WebForbidden("no such file")
    return FileResponse(HERE / "static" / name, media_type=_STATIC[name], headers={"Cache-Control": "max-age=300"})


@router.get("/")
async def home() -> RedirectResponse:
    return _see("/app")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:
    token = new_login_csrf()
    response = _render(request, "login.html", login_csrf=token, next=_local(next), error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    treasurer: TreasurerDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/app",
) -> Response:
    check_login_csrf(request, csrf)
    try:
        # The same budget of failures as `POST /token`: a second door must not double the guesses.
        async with throttled(request, username), treasurer.sessions.begin() as session:
            user = await authenticate(session, username, password)
    except TreasurerError as exc:
        return _see(f"/login?error={quote(exc.message)}&next={quote(_local(next))}")
    ttl = timedelta(minutes=settings.access_token_minutes)
    token = request.app.state.access_tokens.issue(
        user.id, user.email, set(user.roles), version=user.token_version, ttl=ttl
    )
    response = _see(_local(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf)
    response = _see("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/app", response_class=HTMLResponse)
async def app_home(request: Request, me: WebUser, treasurer: TreasurerDep) -> HTMLResponse:
    view = await dashboard(treasurer, me)
    return _render(request, "dashboard.html", me, view=view, currency=treasurer.context.settings.token_currency)


@router.get("/app/invoices", response_class=HTMLResponse)
async def invoices(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    async with treasurer.sessions() as session:
        rows, total = await list_invoices(
            session,
            status=status or None,
            vendor=None,
            submitted_by=None,
            since=None,
            until=None,
            limit=50,
            offset=offset,
        )
    return _render(request, "invoices.html", me, rows=rows, total=total, offset=offset, status=status)


@router.get("/app/invoices/new", response_class=HTMLResponse)
async def new_invoice(request: Request, me: WebUser, error: str | None = None) -> HTMLResponse:
    require(me, "cfo")
    return _render(request, "invoice_new.html", me, error=error)


@router.post("/app/invoices")
async def submit_invoice(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    intake: IntakeDep,
    readers: DocumentReadersDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    raw_text: Annotated[str, Form(max_length=1_000_000)] = "",
    document: UploadFile | None = None,
) -> Response:
    check_csrf(request, csrf)
    require(me, "cfo")
    data = await document.read(MAX_UPLOAD_BYTES + 1) if document is not None and document.filename else b""
    try:
        if data:
            read = await readers.read(data, document.filename, document.content_type)
        elif raw_text.strip():
            read = ReadDocument(raw_text, TextSource.TYPED)
        else:
            return _see("/app/invoices/new?error=" + quote("paste the invoice's text or choose a file"))
        invoice_id = await treasurer.submit(
            read.text,
            me.actor,
            document=read.document,
            document_type=read.document_type,
            text_source=read.source,
            ocr_doubtful_spans=read.doubtful_spans if read.source == TextSource.OCR else None,
        )
    except TreasurerError as exc:
        return _see("/app/invoices/new?error=" + quote(exc.message))
    if treasurer.approval_queue is None:
        # The embedded default has no worker: process here, after answering; the page follows it live.
        task = asyncio.create_task(treasurer.process(invoice_id))
        request.app.state.background.add(task)
        task.add_done_callback(request.app.state.background.discard)
    else:
        await intake.enqueue(invoice_id)
    return _see(f"/app/invoices/{invoice_id}")


@router.get("/app/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_detail(request: Request, invoice_id: uuid.UUID, me: WebUser, treasurer: TreasurerDep) -> HTMLResponse:
    page = await invoice_page(treasurer, invoice_id, me)
    return _render(request, "invoice.html", me, page=page)


@router.post("/app/approvals/{request_id}/vote")
async def cast(
    request: Request,
    request_id: uuid.UUID,
    me: WebUser,
    treasurer: TreasurerDep,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    invoice_id: Annotated[uuid.UUID, Form()],
    csrf: Annotated[str, Form(max_length=100)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf)
    require(me, "approver")
    try:
        await vote(treasurer, request_id, me.actor, decision, channel="web", comment=comment.strip() or None)
    except TreasurerError as exc:  # already voted, closed, not an approver: a page that says so
        return _render(request, "error.html", me, exc.status_code, message=exc.message)
    return _see(f"/app/invoices/{invoice_id}")


@router.get("/app/settings", response_class=HTMLResponse)
async def settings_page(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    error: str | None = None,
    notice: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    require(me, "ops", "admin")
    async with treasurer.sessions() as session:
        limit = await current_limit(session)
        vendors = list(await session.scalars(select(Vendor).order_by(Vendor.name)))
        proposals = await PolicyStore(session).proposals()
    return _render(
        request, "settings.html", me, limit=limit, vendors=vendors, proposals=proposals, error=error, notice=notice
    )


@router.post("/app/settings/limit")
async def change_limit(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    new_limit: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    require(me, "ops")
    try:
        amount = Decimal(new_limit.replace(",", "").strip())
        if not amount.is_finite() or amount <= 0:
            raise ValueError
        async with treasurer.sessions.begin() as session:
            row = await set_limit(session, amount, me.actor)
    except (InvalidOperation, TreasurerError, ValueError) as exc:
        message = exc.message if isinstance(exc, TreasurerError) else f"{new_limit!r} is not an amount"
        return _see("/app/settings?error=" + quote(message))
    if row.status == PolicyStatus.PROPOSED:
        # A higher limit loosens a control: it is a proposal until another ops user approves it.
        waiting = f"Raising the limit to {amount:,} awaits approval by a second ops user (change {row.id})."
        return _see("/app/settings?notice=" + quote(waiting))
    return _see("/app/settings")


@router.post("/app/settings/vendors")
async def add_vendor(
    request: Request,
    me: WebUser,
    treasurer: TreasurerDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    payout_address: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    require(me, "ops")
    try:
        async with treasurer.sessions.begin() as session:
            await VendorRepository(session).add(name.strip(), payout_address.strip(), [], registered_by=me.actor)
    except (TreasurerError, ValueError) as exc:
        return _see("/app/settings?error=" + quote(getattr(exc, "message", str(exc))))
    return _see("/app/settings")


@router.post("/app/settings/vendors/{vendor_id}/verify")
async def verify_vendor(
    request: Request,
    vendor_id: uuid.UUID,
    me: WebUser,
    treasurer: TreasurerDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    require(me, "ops")
    try:
        async with treasurer.sessions.begin() as session:
            await vendor_changes.verify(session, vendor_id, me.actor)
    except TreasurerError as exc:
        return _see("/app/settings?error=" + quote(exc.message))
    return _see("/app/settings")


def install(app: FastAPI) -> None:
    """The pages, and how their errors look: a page, or the login for a visitor who is not signed in."""
    from api.web.events import router as events_router

    app.state.background = set()
    app.include_router(router)
    app.include_router(events_router)

    async def sign_in(request: Request, _exc: SignInNeeded) -> Response:
        return _see(f"/login?next={quote(request.url.path)}")

    async def refused(request: Request, exc: TreasurerError) -> Response:
        return _render(request, "error.html", None, exc.status_code, message=exc.message)

    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(CsrfRefused, refused)
    app.add_exception_handler(WebForbidden, refused)
