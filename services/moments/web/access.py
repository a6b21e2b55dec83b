"""Who may see a page or send a form: dependencies that raise, so handlers only do their work.

GET pages take `SignedIn` (anyone logged in) or `AdminSignedIn`; form POSTs take `Posted`,
`WriterPosted` or `AdminPosted`, which also check the login's CSRF token in the form. A refusal
is raised (`Refused`, `LoginRequired`) and rendered by one exception handler.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from services.common.i18n import N_
from services.moments.deps import Principal, browser_principal, csrf_ok
from services.moments.web.render import (
    LoginRequired,
    PasswordChangeRequired,
    Refused,
    read_form,
)

FORM_EXPIRED = N_("The form was stale or not sent from this site. Reload the page and try again.")
REFUSALS = {
    "write": (N_("Read-only"), N_("Viewers can read moments but not change them.")),
    "admin": (N_("Admins only"), N_("Only admins can do this.")),
}


def _allowed(principal: Principal, need: str | None) -> bool:
    return need is None or (principal.can_write if need == "write" else principal.is_admin)


def _check(principal: Principal | None, need: str | None) -> Principal:
    if principal is None:
        raise LoginRequired
    if principal.must_change_password:
        raise PasswordChangeRequired
    if not _allowed(principal, need):
        title, message = REFUSALS[need or ""]
        raise Refused(403, title, message, principal)
    return principal


def signed_in(request: Request) -> Principal:
    return _check(browser_principal(request), None)


def any_login(request: Request) -> Principal:
    """Logged in, one-time password or not: the password page itself."""
    principal = browser_principal(request)
    if principal is None:
        raise LoginRequired
    return principal


def admin_signed_in(request: Request) -> Principal:
    return _check(browser_principal(request), "admin")


async def _posted(request: Request, need: str | None, *, any_kind: bool = False) -> Principal:
    principal = await run_in_threadpool(browser_principal, request)
    if principal is None:
        raise LoginRequired
    form = await read_form(request)  # Starlette keeps it: the handler reads the same form
    expected = principal.login.csrf_token if principal.login else None
    if not csrf_ok(expected, form.get("csrf_token")):
        raise Refused(403, N_("Form expired"), FORM_EXPIRED, principal)
    return principal if any_kind else _check(principal, need)


async def any_login_posted(request: Request) -> Principal:
    return await _posted(request, None, any_kind=True)


async def posted(request: Request) -> Principal:
    return await _posted(request, None)


async def writer_posted(request: Request) -> Principal:
    return await _posted(request, "write")


async def admin_posted(request: Request) -> Principal:
    return await _posted(request, "admin")


SignedIn = Annotated[Principal, Depends(signed_in)]
AnyLogin = Annotated[Principal, Depends(any_login)]
AnyLoginPosted = Annotated[Principal, Depends(any_login_posted)]
AdminSignedIn = Annotated[Principal, Depends(admin_signed_in)]
Posted = Annotated[Principal, Depends(posted)]
WriterPosted = Annotated[Principal, Depends(writer_posted)]
AdminPosted = Annotated[Principal, Depends(admin_posted)]
