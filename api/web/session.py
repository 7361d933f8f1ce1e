"""Signing in to the web app: the access token lives in an HttpOnly cookie, and every form carries a CSRF
token derived from it, so another site can neither read the session nor post a form in its name."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from api.auth import principal_for_token
from finance.errors import TreasurerError
from finance.identity import Principal
from finance.settings import purpose_key

SESSION_COOKIE = "treasurer_session"
LOGIN_CSRF_COOKIE = "treasurer_login_csrf"


class SignInNeeded(TreasurerError):
    """Rendered as a redirect to the login page (see `api.web.pages.install_redirect`)."""

    status_code = 401
    code = "sign_in_needed"


class CsrfRefused(TreasurerError):
    status_code = 403
    code = "csrf_refused"

    def __init__(self) -> None:
        super().__init__("this form has expired or did not come from this site; reload the page and try again")


class WebForbidden(TreasurerError):
    status_code = 403
    code = "forbidden"


def csrf_for(request: Request, session_token: str) -> str:
    key = purpose_key(request.app.state.settings.jwt_secret, b"web-csrf")
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str | None) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or not submitted or not hmac.compare_digest(csrf_for(request, token), submitted):
        raise CsrfRefused()


def check_login_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise CsrfRefused()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


async def web_principal(request: Request) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    principal = await principal_for_token(request, token, "web_session") if token else None
    if principal is None:
        raise SignInNeeded("sign in to continue")
    return principal


WebUser = Annotated[Principal, Depends(web_principal)]


def require(principal: Principal, *roles: str) -> None:
    if not principal.roles & set(roles):
        raise WebForbidden(f"this page needs one of the roles {', '.join(roles)}")
