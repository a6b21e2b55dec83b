"""The community manager's pages: log a moment, list/search/filter, view, edit, delete, users."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.common import accounts
from services.common.auth import Role, create_token, revoke_token
from services.common.schema import ApiToken, User
from services.common.vocabulary import Network
from services.moments import service, sheets
from services.moments.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    browser_principal,
    csrf_ok,
    db,
    writing,
)
from services.moments.models import CustomerStatus, InitiatedBy, MomentCreate, MomentUpdate, Outcome

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
PER_PAGE = 25
NETWORK_HOSTS = {
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "linkedin.com": "linkedin",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "reddit.com": "reddit",
}
CHOICES = {
    "networks": [n.value for n in Network],
    "statuses": [(s.value, s.value.replace("_", " ").capitalize()) for s in CustomerStatus],
    "outcomes": [(o.value, o.value.replace("_", " ").capitalize()) for o in Outcome],
    "initiators": [
        (InitiatedBy.customer.value, "Customer (they wrote first)"),
        (InitiatedBy.brand.value, "Brand (we reached out)"),
    ],
}


def guess_network(link: str) -> str | None:
    host = (urlparse(link).hostname or "").lower().removeprefix("www.").removeprefix("m.")
    return NETWORK_HOSTS.get(host)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _page(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    settings = request.app.state.settings
    banner = None
    if principal is not None:
        if not sheets.enabled(settings):
            banner = sheets.OFF_MESSAGE + "."
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
            "today": dt.date.today().isoformat(),
            **CHOICES,
            **context,
        },
        status_code=status,
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


def in_thread(handler: Callable[..., Response]) -> Callable[..., Awaitable[Response]]:
    """A form POST handler, run off the event loop. The form is read here (async); the handler,
    with its database work and password hashing, runs in the thread pool. Blocking the loop
    stalled every connection whenever one request waited (bench: p99 1,150 ms at 50 clients)."""
    signature = inspect.signature(handler)

    @functools.wraps(handler)
    async def endpoint(request: Request, **path: Any) -> Response:
        form = await request.form()
        return await run_in_threadpool(handler, request, form, **path)

    # FastAPI reads the route's parameters from this: the request and path values, not the form.
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "form"]
    )
    return endpoint


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def _form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        field = str(err["loc"][0]) if err["loc"] else "form"
        errors.setdefault(field, err["msg"].removeprefix("Value error, "))
    return errors


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n;]", value) if part.strip()]


def _moment_fields(form: FormData) -> dict[str, Any]:
    link = str(form.get("link", "")).strip()
    network = str(form.get("network", "")).strip() or guess_network(link) or ""
    fields: dict[str, Any] = {
        "occurred_on": str(form.get("occurred_on", "")).strip(),
        "network": network,
        "link": link,
        "people": _split(str(form.get("people", ""))),
        "customer_status": str(form.get("customer_status", "")) or "unknown",
        "change": str(form.get("change", "")),
        "outcome": str(form.get("outcome", "")) or None,
        "initiated_by": str(form.get("initiated_by", "")) or None,
        "notes": str(form.get("notes", "")).strip() or None,
        "tags": _split(str(form.get("tags", ""))),
    }
    return fields


def _filters(request: Request, *, deleted: bool = False) -> service.Filters:
    q = request.query_params

    def date(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(q.get(name, ""))
        except ValueError:
            return None

    return service.Filters(
        q=q.get("q") or None,
        network=q.get("network") or None,
        customer_status=q.get("customer_status") or None,
        outcome=q.get("outcome") or None,
        date_from=date("date_from"),
        date_to=date("date_to"),
        deleted=deleted,
    )


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _csrf_valid(principal: Principal, form: FormData) -> bool:
    """Whether the form carries this login's CSRF token."""
    expected = principal.login.csrf_token if principal.login else None
    return csrf_ok(expected, form.get("csrf_token"))


def _csrf_refused(request: Request, principal: Principal) -> HTMLResponse:
    return _page(
        request,
        "message.html",
        principal,
        status=403,
        title="Form expired",
        message="The form was stale or not sent from this site. Reload the page and try again.",
    )


REFUSALS = {
    "write": ("Read-only", "Viewers can read moments but not change them."),
    "admin": ("Admins only", "Only admins can do this."),
}


def _refused(request: Request, principal: Principal, need: str) -> HTMLResponse:
    title, message = REFUSALS[need]
    return _page(request, "message.html", principal, status=403, title=title, message=message)


def _allowed(principal: Principal, need: str | None) -> bool:
    return need is None or (principal.can_write if need == "write" else principal.is_admin)


def _not_found(request: Request, principal: Principal, message: str) -> HTMLResponse:
    return _page(request, "message.html", principal, status=404, title="Not found", message=message)


def _viewer(request: Request, need: str | None = None) -> Principal | Response:
    """The logged-in person allowed to see this page, or the response that turns them away."""
    principal = browser_principal(request)
    if principal is None:
        return _login_redirect(request)
    return principal if _allowed(principal, need) else _refused(request, principal, need or "")


def _posted(request: Request, form: FormData, need: str | None = None) -> Principal | Response:
    """The person behind a POST whose form carries their CSRF token, or the response that
    refuses it."""
    principal = browser_principal(request)
    if principal is None:
        return _login_redirect(request)
    if not _csrf_valid(principal, form):
        return _csrf_refused(request, principal)
    if not _allowed(principal, need):
        return _refused(request, principal, need or "")
    return principal


def _list_context(
    request: Request, principal: Principal, *, deleted: bool = False
) -> dict[str, Any]:
    filters = _filters(request, deleted=deleted)
    page = _page_number(request)
    with db(request) as session:
        moments, total = service.get_all(session, filters=filters, page=page, per_page=PER_PAGE)
        states = service.sync_states(
            session, [m.id for m in moments], enabled=sheets.enabled(request.app.state.settings)
        )
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return {
        "moments": [service.as_dict(m) for m in moments],
        "states": states,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "query": query,
        "query_string": urlencode(query),
        "filters": filters,
    }


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    principal = _viewer(request)
    if isinstance(principal, Response):
        return principal
    return _page(
        request, "index.html", principal, values={}, errors={}, **_list_context(request, principal)
    )


@router.post("/moments", response_class=HTMLResponse)
@in_thread
def log_moment(request: Request, form: FormData) -> Response:
    principal = _posted(request, form, "write")
    if isinstance(principal, Response):
        return principal
    fields = _moment_fields(form)
    raw = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        data = MomentCreate.model_validate(fields)
    except ValidationError as exc:
        return _page(
            request,
            "index.html",
            principal,
            status=422,
            values=raw,
            errors=_form_errors(exc),
            **_list_context(request, principal),
        )
    with writing(request) as session:
        duplicate = service.same_link(session, data.link)
        if duplicate is not None and not form.get("confirm_duplicate"):
            return _page(
                request,
                "index.html",
                principal,
                status=409,
                values=raw,
                errors={},
                duplicate=service.as_dict(duplicate),
                **_list_context(request, principal),
            )
        moment = service.create(session, data=data, actor=principal.name)
    return RedirectResponse(f"/moments/{moment.id}?logged=1", status_code=303)


@router.get("/moments.csv")
def export_csv(request: Request) -> Response:
    principal = _viewer(request)
    if isinstance(principal, Response):
        return principal
    return StreamingResponse(
        service.export_csv(request.app.state.engine, filters=_filters(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="moments.csv"'},
    )


@router.get("/moments/{moment_id}", response_class=HTMLResponse)
def view_moment(request: Request, moment_id: str) -> Response:
    principal = _viewer(request)
    if isinstance(principal, Response):
        return principal
    with db(request) as session:
        moment = service.get(session, moment_id, include_deleted=principal.is_admin)
        if moment is None:
            return _not_found(request, principal, "No such moment.")
        state = service.sync_states(
            session, [moment.id], enabled=sheets.enabled(request.app.state.settings)
        )[moment.id]
        conversation = service.conversation_for(session, moment.link)
        trail = service.audit_trail(session, moment.id)
    return _page(
        request,
        "moment.html",
        principal,
        moment=service.as_dict(moment),
        state=state,
        conversation=conversation,
        trail=trail,
        logged=request.query_params.get("logged"),
    )


@router.get("/moments/{moment_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, moment_id: str) -> Response:
    principal = _viewer(request)
    if isinstance(principal, Response):
        return principal
    with db(request) as session:
        moment = service.get(session, moment_id)
    if moment is None or not principal.can_write:
        return _not_found(request, principal, "No such moment to edit.")
    data = service.as_dict(moment)
    values = {
        **data,
        "people": ", ".join(data["people"]),
        "tags": ", ".join(data["tags"]),
        "occurred_on": data["occurred_on"].isoformat(),
    }
    return _page(request, "edit.html", principal, moment=data, values=values, errors={})


@router.post("/moments/{moment_id}/edit", response_class=HTMLResponse)
@in_thread
def edit_moment(request: Request, form: FormData, moment_id: str) -> Response:
    principal = _posted(request, form, "write")
    if isinstance(principal, Response):
        return principal
    with writing(request) as session:
        moment = service.get(session, moment_id)
        if moment is None:
            return _not_found(request, principal, "No such moment to edit.")
        raw = {k: str(v) for k, v in form.items() if k != "csrf_token"}
        try:
            MomentCreate.model_validate(_moment_fields(form))  # the whole form must be valid
            data = MomentUpdate.model_validate(_moment_fields(form))
        except ValidationError as exc:
            return _page(
                request,
                "edit.html",
                principal,
                status=422,
                moment=service.as_dict(moment),
                values=raw,
                errors=_form_errors(exc),
            )
        service.update(session, moment=moment, data=data, actor=principal.name)
    return RedirectResponse(f"/moments/{moment_id}", status_code=303)


@router.post("/moments/{moment_id}/delete")
@in_thread
def delete_moment(request: Request, form: FormData, moment_id: str) -> Response:
    principal = _posted(request, form, "write")
    if isinstance(principal, Response):
        return principal
    with writing(request) as session:
        moment = service.get(session, moment_id)
        if moment is not None:
            service.delete(session, moment=moment, actor=principal.name)
    return RedirectResponse("/", status_code=303)


@router.post("/moments/{moment_id}/restore")
@in_thread
def restore_moment(request: Request, form: FormData, moment_id: str) -> Response:
    principal = _posted(request, form, "admin")
    if isinstance(principal, Response):
        return principal
    with writing(request) as session:
        moment = service.get(session, moment_id, include_deleted=True)
        if moment is not None:
            service.restore(session, moment=moment, actor=principal.name)
    return RedirectResponse(f"/moments/{moment_id}", status_code=303)


@router.get("/deleted", response_class=HTMLResponse)
def deleted(request: Request) -> Response:
    principal = _viewer(request, "admin")
    if isinstance(principal, Response):
        return principal
    return _page(
        request, "deleted.html", principal, **_list_context(request, principal, deleted=True)
    )


@router.get("/users", response_class=HTMLResponse)
def list_users(request: Request) -> Response:
    principal = _viewer(request, "admin")
    if isinstance(principal, Response):
        return principal
    return _users_page(request, principal)


def _users_page(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    from sqlmodel import col, select

    with db(request) as session:
        accounts = session.exec(select(User).order_by(col(User.username))).all()
        tokens = session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
    context.setdefault("tokens", tokens)
    return _page(
        request,
        "users.html",
        principal,
        accounts=accounts,
        roles=[r.value for r in Role],
        **context,
    )


@router.post("/users", response_class=HTMLResponse)
@in_thread
def create_user(request: Request, form: FormData) -> Response:
    principal = _posted(request, form, "admin")
    if isinstance(principal, Response):
        return principal
    username = str(form.get("username", ""))
    role = str(form.get("role", "viewer"))
    password = accounts.generate_password()
    try:
        with writing(request) as session:
            accounts.create(session, username=username, password=password, role=Role(role))
    except ValueError as exc:
        return _users_page(request, principal, error=str(exc))
    return _users_page(request, principal, created=(username.strip().lower(), password))


@router.post("/tokens", response_class=HTMLResponse)
@in_thread
def create_api_token(request: Request, form: FormData) -> Response:
    """Admins create bearer tokens for the APIs; the token is shown once, only its hash stays."""
    principal = _posted(request, form, "admin")
    if isinstance(principal, Response):
        return principal
    name = str(form.get("name", "")).strip()[:100]
    if not name:
        return _users_page(
            request, principal, error="Name the token (e.g. the integration using it)."
        )
    try:
        role = Role(str(form.get("role", "manager")))
    except ValueError:
        return _users_page(request, principal, error="role: choose admin, manager or viewer.")
    with writing(request) as session:
        token = create_token(session, name=name, role=role)
    return _users_page(request, principal, created_token=(name, token))


@router.post("/tokens/revoke", response_class=HTMLResponse)
@in_thread
def revoke_api_token(request: Request, form: FormData) -> Response:
    principal = _posted(request, form, "admin")
    if isinstance(principal, Response):
        return principal
    with writing(request) as session:
        revoked = revoke_token(session, name=str(form.get("name", "")))
    return _users_page(request, principal, revoked=revoked)


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
    response = _page(
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
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
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
        return _page(
            request,
            "message.html",
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
        secure=_secure(request),
        max_age=int(accounts.SESSION_TTL.total_seconds()),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE)
    return redirect


@router.post("/logout")
@in_thread
def logout(request: Request, form: FormData) -> Response:
    principal = browser_principal(request)
    if principal is not None and principal.login is not None:
        if not _csrf_valid(principal, form):
            return _csrf_refused(request, principal)
        with writing(request) as session:
            accounts.end_session(session, principal.login.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
