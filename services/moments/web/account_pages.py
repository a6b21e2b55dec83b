"""A person's own account: the password (chosen after a one-time one, or changed) and the
language the pages speak to them in. Any role may change its own."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.common import i18n
from services.domain import accounts
from services.moments.deps import Principal, writing
from services.moments.web.access import AnyLogin, AnyLoginPosted, Posted
from services.moments.web.login_pages import safe_next
from services.moments.web.render import in_thread, page
from services.moments.web.speech import speaker_for

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
BROWSER = "browser"  # the picker's choice of no language of one's own: the browser's


@router.get("/account", response_class=HTMLResponse)
@router.get("/password", response_class=HTMLResponse)
def account(request: Request, principal: AnyLogin) -> Response:
    """The account page; /password is the same page (a one-time password's login sees only
    the password form there)."""
    return _account_page(request, principal)


def _account_page(
    request: Request, principal: Principal, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    return page(
        request,
        "password.html",
        principal,
        status=status,
        next=safe_next(request, request.query_params.get("next", "/")),
        first=principal.must_change_password,
        error=error,
        minimum=accounts.MIN_PASSWORD,
        own_language=principal.language or BROWSER,
        saved=request.query_params.get("language") == "saved",
    )


@router.post("/password", response_class=HTMLResponse)
@in_thread
def change_password(request: Request, form: FormData, principal: AnyLoginPosted) -> Response:
    new, again = str(form.get("new_password", "")), str(form.get("new_password_again", ""))
    target = safe_next(request, str(form.get("next", "/")))
    say = speaker_for(request, principal)
    if new != again:
        return _account_page(
            request, principal, status=422, error=say._("The two new passwords differ.")
        )
    try:
        with writing(request) as session:
            user = accounts.user_named(session, principal.name)
            accounts.change_password(  # and every other login of the account ends
                session,
                user,
                new=new,
                current=str(form.get("current_password", "")) or None,
                keep=principal.login.id if principal.login else None,
            )
    except i18n.Problem as exc:
        said = exc.said_in(say).rstrip(".")  # a clause in the CLI's sentence; a sentence here
        return _account_page(
            request, principal, status=422, error=said[:1].upper() + said[1:] + "."
        )
    log.info("password changed for %r", principal.name)
    separator = "&" if "?" in target else "?"
    if target.startswith("/"):
        target += f"{separator}password=changed"
    return RedirectResponse(target, status_code=303)


@router.post("/account/language", response_class=HTMLResponse)
@in_thread
def choose_language(request: Request, form: FormData, principal: Posted) -> Response:
    """The account's own language (or back to the browser's): every page follows it, on the
    reports app too."""
    chosen = str(form.get("language", ""))
    if chosen != BROWSER and i18n.supported(chosen) != chosen:
        say = speaker_for(request, principal)
        return _account_page(
            request,
            principal,
            status=422,
            error=say._("Language: choose one of the languages offered."),
        )
    with writing(request) as session:
        accounts.set_language(session, principal.name, None if chosen == BROWSER else chosen)
    log.info("language of %r set to %s", principal.name, chosen)
    return RedirectResponse("/account?language=saved", status_code=303)
