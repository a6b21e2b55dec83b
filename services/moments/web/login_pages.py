"""Logging in and out of the pages (the same accounts serve the reports app)."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.common import accounts
from services.moments.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    browser_principal,
    csrf_ok,
    db,
    writing,
)
from services.moments.web.access import FORM_EXPIRED
from services.moments.web.render import Refused, in_thread, message_page, page, secure

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request, next_path=request.query_params.get("next", "/"))


def _login_page(
    request: Request,
    *,
    next_path: str,
    status: int = 200,
    username: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The login form with a fresh CSRF token, set in a cookie and in the form."""
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        None,
        status=status,
        login_csrf=token,
        next=next_path,
        username=username,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


@router.post("/login", response_class=HTMLResponse)
@in_thread
def login(request: Request, form: FormData) -> Response:
    username = str(form.get("username", "")).strip().lower()
    target = str(form.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never redirect off-site after login
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
        return message_page(
            request,
            None,
            status=403,
            title="Form expired",
            message="Reload the login page and try again.",
        )
    limiter: accounts.LoginLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    keys = (f"user:{username}", f"ip:{client}")
    if limiter.blocked(*keys):
        log.warning("login refused for %r from %s: too many failed attempts", username, client)
        return _login_page(
            request,
            next_path=target,
            status=429,
            username=username,
            error="Too many failed attempts. Wait a few minutes and try again.",
        )
    with db(request) as session:  # the password check (slow by design) holds no write lock
        user = accounts.verify(session, username=username, password=str(form.get("password", "")))
    login_session = None
    if user is not None:
        with writing(request) as session:
            login_session = accounts.start_session(session, user)
    if login_session is None:
        limiter.failed(*keys)
        log.warning("login failed for %r from %s", username, client)
        return _login_page(
            request,
            next_path=target,
            status=401,
            username=username,
            error="Wrong username or password.",
        )
    limiter.succeeded(f"user:{username}")
    log.info("login: %r signed in from %s", username, client)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        login_session.id,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        max_age=int(accounts.SESSION_TTL.total_seconds()),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE)
    return redirect


@router.post("/logout")
@in_thread
def logout(request: Request, form: FormData) -> Response:
    principal = browser_principal(request)  # logged out already: nothing to end
    if principal is not None and principal.login is not None:
        if not csrf_ok(principal.login.csrf_token, form.get("csrf_token")):
            raise Refused(403, "Form expired", FORM_EXPIRED, principal)
        with writing(request) as session:
            accounts.end_session(session, principal.login.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
