"""The pages behind the e-mailed links. GET only shows (mail scanners and link previews open every link);
only the POST from the page's button decides. Every refusal is a page that says what happened and
changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.approvals.service import approval_view, vote
from api.deps import SettingsDep, TreasurerDep
from finance.approvals.queries import has_voted
from finance.errors import TreasurerError
from finance.identity import Actor
from finance.models import ApprovalStatus, utcnow
from notifications.links import ApprovalLink, ApprovalLinks, LinkRefused

router = APIRouter(tags=["approval pages"], include_in_schema=True)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# The token is in the URL: it must not leak to other sites as a Referer, and nothing may frame the page.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(_HEADERS)
    return response


def _refusal(request: Request, title: str, message: str, status_code: int) -> HTMLResponse:
    return _page(request, "approval_message.html", status_code, title=title, message=message, ok=False)


@router.get("/approvals/link", response_class=HTMLResponse, summary="Show an approval link's page (changes nothing)")
async def show_link(
    request: Request, treasurer: TreasurerDep, settings: SettingsDep, token: Annotated[str, Query(max_length=4096)] = ""
) -> HTMLResponse:
    try:
        link = ApprovalLinks(settings.jwt_secret, settings.public_base_url).verify(token)
    except LinkRefused as exc:
        return _refusal(request, "This link cannot be used", exc.message, 400)
    async with treasurer.sessions() as session:
        try:
            view = await approval_view(session, link.request_id)
        except TreasurerError:
            return _refusal(request, "Unknown approval request", "This approval request does not exist.", 404)
        voted = await has_voted(session, link.request_id, link.approver)
    problem = _why_not(view, link, voted)
    return _page(
        request,
        "approval_link.html",
        200 if problem is None else 409,
        view=view,
        link=link,
        token=token,
        problem=problem,
    )


@router.post("/approvals/link", response_class=HTMLResponse, summary="Decide through an approval link")
async def use_link(
    request: Request,
    treasurer: TreasurerDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=4096)],
    comment: Annotated[str | None, Form(max_length=2000)] = None,
) -> HTMLResponse:
    try:
        link = ApprovalLinks(settings.jwt_secret, settings.public_base_url).verify(token)
    except LinkRefused as exc:
        return _refusal(request, "This link cannot be used", exc.message, 400)
    try:
        outcome = await vote(
            treasurer,
            link.request_id,
            Actor(user_id=None, name=link.approver),
            link.decision,
            channel="link",
            token_id=link.token_id,
            comment=(comment or "").strip() or None,
        )
    except TreasurerError as exc:
        return _refusal(request, "Nothing was changed", exc.message, exc.status_code)
    async with treasurer.sessions() as session:
        view = await approval_view(session, link.request_id)
    return _page(request, "approval_done.html", view=view, link=link, closed=outcome.closed, now=utcnow())


def _why_not(view, link: ApprovalLink, voted: bool) -> str | None:
    request = view.request
    if request.status != ApprovalStatus.PENDING:
        return f"This request is already {request.status}. Nothing more can be decided here."
    if voted:
        return "You have already voted on this request. Each approver votes once."
    if link.approver not in (request.approvers or []):
        return "This link's approver is not among the approvers of this request."
    return None
