"""Logging in and out of the pages (the same accounts serve the reports app)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.common import i18n
from services.common.deps import settings_of
from services.common.i18n import N_
from services.domain import accounts
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
from services.moments.web.speech import LANGUAGE_COOKIE, speaker_for

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


def safe_next(request: Request, target: str) -> str:
    """Where to go after login: a path of this site, or a page of the reports app (the one
    other site that shares the session; its URL ends in "/", so this is a path under it);
    never anywhere else."""
    reports = settings_of(request).reports_url
    rest = target[len(reports) :] if target.startswith(reports) else None
    if rest is not None and not rest.startswith("/") and not set(rest) & {"\\", "@"}:
        return target
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    target = safe_next(request, request.query_params.get("next", "/"))
    picked = i18n.supported(request.query_params.get("language"))
    if picked is not None:  # one of the login page's language links: kept for this browser
        again = RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        again.set_cookie(
            LANGUAGE_COOKIE,
            picked,
            max_age=LANGUAGE_COOKIE_AGE,
            httponly=True,
            samesite="lax",
            secure=secure(request),
        )
        return again
    principal = browser_principal(request)
    if principal is not None and principal.must_change_password:
        return RedirectResponse(f"/password?{urlencode({'next': target})}", status_code=303)
    if target != "/" and principal is not None:
        return RedirectResponse(target, status_code=303)  # already in: straight on
    return _login_page(request, next_path=target)


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
    target = safe_next(request, str(form.get("next", "/")))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
        return message_page(
            request,
            None,
            status=403,
            title=N_("Form expired"),
            message=N_("Reload the login page and try again."),
        )
    limiter: accounts.LoginLimiter = request.app.state.login_limiter
    # The peer, or the client a trusted proxy names (RAPPORT_TRUSTED_PROXIES: trust_proxies).
    client = request.client.host if request.client else "unknown"
    attempt = limiter.begin(username, client)  # recorded before the slow hash: no race
    if attempt is None:
        log.warning("login refused for %r from %s: too many failed attempts", username, client)
        return _login_page(
            request,
            next_path=target,
            status=429,
            username=username,
            error=speaker_for(request, None)._(
                "Too many failed attempts. Wait a few minutes and try again."
            ),
        )
    with db(request) as session:  # the password check (slow by design) holds no write lock
        user = accounts.verify(session, username=username, password=str(form.get("password", "")))
    login_session, session_id = None, ""
    if user is not None:
        with writing(request) as session:
            if user.must_change_password:  # a one-time password: spent by this login
                accounts.spend_one_time_password(session, session.merge(user))
                target = f"/password?{urlencode({'next': target})}"
            login_session, session_id = accounts.start_session(session, user)
    if login_session is None:
        say = speaker_for(request, None)
        log.warning("login failed for %r from %s", username, client)  # the attempt counts
        with db(request) as session:
            spent = accounts.spent_one_time_password(
                session, username=username, password=str(form.get("password", ""))
            )
        return _login_page(
            request,
            next_path=target,
            status=401,
            username=username,
            error=(
                say._(
                    "This one-time password was used already. Ask an admin for a new one (Users "
                    "page), or run `rapport users reset --username {username}` on the server.",
                    username=username,
                )
                if spent
                else say._("Wrong username or password.")
            ),
        )
    limiter.succeeded(attempt)
    log.info("login: %r signed in from %s", username, client)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        session_id,
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
            raise Refused(403, N_("Form expired"), FORM_EXPIRED, principal)
        with writing(request) as session:
            accounts.end_session(session, principal.login.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
