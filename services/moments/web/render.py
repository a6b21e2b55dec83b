"""Rendering the pages: templates, the page frame with its sheet banner, refusals, form POSTs."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import FormData

from services.common import i18n
from services.common.clock import today_in
from services.common.deps import settings_of
from services.common.errors import database_problem, database_reason
from services.domain.vocabulary import Network
from services.moments import sheets
from services.moments.deps import Principal, db
from services.moments.models import CustomerStatus, InitiatedBy, Outcome
from services.moments.web.speech import language_of, speaker_for, templates

log = logging.getLogger(__name__)
CHOICES = {
    "networks": [n.value for n in Network],
    "statuses": [s.value for s in CustomerStatus],
    "outcomes": [o.value for o in Outcome],
    "initiators": [i.value for i in InitiatedBy],
}


class Refused(Exception):
    """A page turns the person away: rendered by `refusal_page` with its status and words
    (`title` and `message` marked with N_, `values` fill the message's placeholders)."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        principal: Principal | None = None,
        **values: object,
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.principal = status, title, message, principal
        self.values = values


class LoginRequired(Exception):
    """Nobody is logged in: the page sends them to the login form and back afterwards."""


class PasswordChangeRequired(Exception):
    """Logged in with a one-time password: a new password comes first, then the page."""


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def page(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page in the language of whoever asks (speech.language_of)."""
    settings = settings_of(request)
    language = language_of(request, principal)
    say = i18n.speaker(language)
    banner = None
    if principal is not None and principal.is_admin:  # the one who can act on it
        if not sheets.enabled(settings):
            banner = say._(
                "The Google Sheet is not connected: moments are kept here and written to it "
                "once it is (the server's operator sets up the service account and the sheet)."
            )
        else:
            with db(request) as session:
                backlog, oldest = sheets.status(session)
            if oldest > 15 * 60:
                banner = say.n_(
                    "Google Sheets sync is behind: {n} moment waiting, the oldest for "
                    "{minutes} min.",
                    "Google Sheets sync is behind: {n} moments waiting, the oldest for "
                    "{minutes} min.",
                    backlog,
                    minutes=say.number(oldest / 60),
                )
    return templates(language).TemplateResponse(
        request,
        name,
        {
            "user": principal,
            "csrf": principal.login.csrf_token if principal and principal.login else None,
            "banner": banner,
            "today": today_in(settings.timezone).isoformat(),
            "tz": settings.timezone,
            "reports_url": settings.reports_url,
            **CHOICES,
            **context,
        },
        status_code=status,
        headers={"Content-Language": language, "Vary": "Accept-Language, Cookie"},
    )


def message_page(
    request: Request,
    principal: Principal | None,
    *,
    status: int,
    title: str,
    message: str,
    **values: object,
) -> HTMLResponse:
    """A page that only says something: `title` and `message` are marked with N_ and shown in
    the page's language, `values` filling the message's placeholders."""
    say = speaker_for(request, principal)
    return page(
        request,
        "message.html",
        principal,
        status=status,
        title=say._(title),
        message=say._(message, **values),
    )


async def refusal_page(request: Request, exc: Exception) -> Response:
    """The one exception handler for pages that turn someone away."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    if isinstance(exc, PasswordChangeRequired):
        return RedirectResponse(f"/password?{urlencode({'next': target})}", status_code=303)
    assert isinstance(exc, Refused)
    return await run_in_threadpool(
        message_page,
        request,
        exc.principal,
        status=exc.status,
        title=exc.title,
        message=exc.message,
        **exc.values,
    )


def database_down_page(request: Request, exc: DBAPIError) -> HTMLResponse:
    """The database failed mid-request: say so plainly; the browser's Back keeps the form."""
    log.error("%s %s answered 503: %s", request.method, request.url.path, database_problem(exc))
    language = language_of(request, None)
    say = i18n.speaker(language)
    return templates(language).TemplateResponse(
        request,
        "message.html",
        {
            "user": None,
            "title": say._("Not saved: the database is unavailable"),
            # The reason is the database driver's own words: for the administrator, as is.
            "message": say._(
                "The database could not be reached or written ({reason}); nothing was saved. "
                "Go back (your browser keeps what you typed) and try again in a minute. If "
                "this persists, tell your Rapport administrator.",
                reason=database_reason(exc),
            ),
            **CHOICES,
        },
        status_code=503,
        headers={"Retry-After": "5", "Content-Language": language},
    )


# Every form of these pages: a dozen text fields, no files; one field at most 64 KiB as sent
# (5,000 characters of text percent-encoded). More is refused with 400 before it is kept.
FORM_LIMITS: dict[str, int] = {"max_files": 0, "max_fields": 50, "max_part_size": 64 * 1024}


async def read_form(request: Request) -> FormData:
    """The request's form within FORM_LIMITS (Starlette keeps it: later reads get the same)."""
    return await request.form(**FORM_LIMITS)


def in_thread(handler: Callable[..., Response]) -> Callable[..., Awaitable[Response]]:
    """A form POST handler, run off the event loop. The form is read here (async); the handler,
    with its database work and password hashing, runs in the thread pool. Blocking the loop
    stalled every connection whenever one request waited (bench: p99 1,150 ms at 50 clients)."""
    signature = inspect.signature(handler)

    @functools.wraps(handler)
    async def endpoint(request: Request, **values: Any) -> Response:
        form = await read_form(request)
        return await run_in_threadpool(handler, request, form, **values)

    # FastAPI reads the route's parameters from this: the request, path values and
    # dependencies, not the form.
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "form"]
    )
    return endpoint
