"""The admin's pages: staff accounts and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select
from starlette.datastructures import FormData

from services.common import i18n
from services.common.i18n import N_
from services.domain import accounts
from services.domain.auth import Role, create_token, revoke_token
from services.domain.tables import ApiToken, User
from services.moments.deps import Principal, db, writing
from services.moments.web.access import AdminPosted, AdminSignedIn
from services.moments.web.render import in_thread, page
from services.moments.web.speech import speaker_for

router = APIRouter(include_in_schema=False)
# The roles as the pages name them (the values stay the API's and the CLI's).
ROLE_NAMES = {"admin": N_("admin"), "manager": N_("manager"), "viewer": N_("viewer")}


def _said(request: Request, principal: Principal, exc: ValueError) -> str:
    """An account refusal in the page's language: accounts raise i18n.Problem; the one other
    ValueError here is a role the form should not have sent."""
    say = speaker_for(request, principal)
    if isinstance(exc, i18n.Problem):
        return exc.said_in(say)
    return say._("Role: choose admin, manager or viewer.")


def _users_page(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    with db(request) as session:
        staff = session.exec(select(User).order_by(col(User.username))).all()
        tokens = session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
    context.setdefault("tokens", tokens)
    return page(
        request,
        "users.html",
        principal,
        accounts=staff,
        roles=[r.value for r in Role],
        role_names=ROLE_NAMES,
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def list_users(request: Request, principal: AdminSignedIn) -> Response:
    return _users_page(request, principal)


@router.post("/users", response_class=HTMLResponse)
@in_thread
def create_user(request: Request, form: FormData, principal: AdminPosted) -> Response:
    role = str(form.get("role", "viewer"))
    password = accounts.generate_password()
    try:
        username = accounts.check_username(str(form.get("username", "")))
        with writing(request) as session:
            accounts.create(
                session, username=username, password=password, role=Role(role), one_time=True
            )
    except ValueError as exc:
        return _users_page(request, principal, error=_said(request, principal, exc))
    return _users_page(request, principal, created=(username.strip().lower(), password))


@router.post("/users/{username}", response_class=HTMLResponse)
@in_thread
def change_user(
    request: Request, form: FormData, username: str, principal: AdminPosted
) -> Response:
    """An admin's change to one account: reset its password, disable or enable it, its role."""
    action = str(form.get("action", ""))
    say = speaker_for(request, principal)
    try:
        with writing(request) as session:
            if action == "reset":
                password = accounts.reset_password(session, username)
                return _users_page(request, principal, reset=(username, password))
            if action in ("disable", "enable"):
                accounts.set_disabled(session, username, disabled=action == "disable")
                done = (
                    say._("{username} disabled: every login ended.", username=username)
                    if action == "disable"
                    else say._("{username} enabled.", username=username)
                )
            elif action == "role":
                role = accounts.set_role(session, username, Role(str(form.get("role", "")))).role
                done = say._(
                    "{username} is now {role}.", username=username, role=say._(ROLE_NAMES[role])
                )
            else:
                return _users_page(
                    request, principal, error=say._("Unknown action {action}.", action=action)
                )
    except ValueError as exc:
        return _users_page(request, principal, error=_said(request, principal, exc))
    return _users_page(request, principal, done=done)


@router.post("/tokens", response_class=HTMLResponse)
@in_thread
def create_api_token(request: Request, form: FormData, principal: AdminPosted) -> Response:
    """Admins create bearer tokens for the APIs; the token is shown once, only its hash stays."""
    name = str(form.get("name", "")).strip()[:100]
    if not name:
        return _users_page(
            request,
            principal,
            error=speaker_for(request, principal)._(
                "Name the token (e.g. the integration using it)."
            ),
        )
    try:
        role = Role(str(form.get("role", "manager")))
    except ValueError as exc:
        return _users_page(request, principal, error=_said(request, principal, exc))
    with writing(request) as session:
        token = create_token(session, name=name, role=role)
    return _users_page(request, principal, created_token=(name, token))


@router.post("/tokens/revoke", response_class=HTMLResponse)
@in_thread
def revoke_api_token(request: Request, form: FormData, principal: AdminPosted) -> Response:
    with writing(request) as session:
        revoked = revoke_token(session, name=str(form.get("name", "")))
    return _users_page(request, principal, revoked=revoked)
