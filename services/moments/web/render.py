"""Rendering the pages: templates, the page frame with its sheet banner, refusals, form POSTs."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from services.common.clock import today_in
from services.common.vocabulary import Network, moment_word, network_label
from services.moments import sheets
from services.moments.deps import Principal, db
from services.moments.models import CustomerStatus, InitiatedBy, Outcome

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(Path(__file__).parents[1] / "templates"))
templates.env.filters["network_label"] = network_label
templates.env.filters["word"] = moment_word


def local_time(at: dt.datetime, tz: ZoneInfo) -> str:
    """A stored instant (naive UTC) in the team's zone (RAPPORT_TIMEZONE), as people read it."""
    local = at.replace(tzinfo=dt.UTC).astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


templates.env.filters["local_time"] = local_time
CHOICES = {
    "networks": [n.value for n in Network],
    "statuses": [(s.value, moment_word(s.value)) for s in CustomerStatus],
    "outcomes": [(o.value, moment_word(o.value)) for o in Outcome],
    "initiators": [(i.value, moment_word(i.value)) for i in InitiatedBy],
}


class Refused(Exception):
    """A page turns the person away: rendered by `refusal_page` with its status and words."""

    def __init__(
        self, status: int, title: str, message: str, principal: Principal | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.principal = status, title, message, principal


class LoginRequired(Exception):
    """Nobody is logged in: the page sends them to the login form and back afterwards."""


class PasswordChangeRequired(Exception):
    """Logged in with a one-time password: a new password comes first, then the page."""


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def page(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    settings = request.app.state.settings
    banner = None
    if principal is not None and principal.is_admin:  # the one who can act on it
        if not sheets.enabled(settings):
            banner = (
                "The Google Sheet is not connected: moments are kept here and written to it "
                "once it is (the server's operator sets up the service account and the sheet)."
            )
        else:
            with db(request) as session:
                backlog, oldest = sheets.status(session)
            if oldest > 15 * 60:
                banner = (
                    f"Google Sheets sync is behind: {backlog} moments waiting, "
                    f"the oldest for {oldest / 60:.0f} min."
                )
    return templates.TemplateResponse(
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
    )


def message_page(
    request: Request, principal: Principal | None, *, status: int, title: str, message: str
) -> HTMLResponse:
    return page(request, "message.html", principal, status=status, title=title, message=message)


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
    )


def database_down_page(request: Request, problem: str) -> HTMLResponse:
    """The database failed mid-request: say so plainly; the browser's Back keeps the form."""
    log.error("%s %s answered 503: %s", request.method, request.url.path, problem)
    return templates.TemplateResponse(
        request,
        "message.html",
        {
            "user": None,
            "title": "Not saved: the database is unavailable",
            "message": f"{problem} Go back (your browser keeps what you typed) and try again "
            "in a minute. If this persists, tell your Rapport administrator.",
            **CHOICES,
        },
        status_code=503,
        headers={"Retry-After": "5"},
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
