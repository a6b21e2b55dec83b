"""Who is asking: a browser session (cookie + CSRF) or a bearer token, and what they may do."""

from __future__ import annotations

import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from services.common.db import write_session
from services.common.deps import engine_of, settings_of
from services.domain import accounts
from services.domain.auth import READ_ONLY, Role, bearer_token, caller_of, unauthorized
from services.domain.tables import UserSession

SESSION_COOKIE = accounts.SESSION_COOKIE
LOGIN_CSRF_COOKIE = "rapport_login_csrf"
WRITERS = (Role.admin, Role.manager)


@dataclass
class Principal:
    name: str
    role: Role
    login: UserSession | None = None  # set for browser sessions
    must_change_password: bool = False  # a one-time password's login: only /password serves it
    language: str | None = None  # the account's own (None: the browser's)

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


def db(request: Request) -> Session:
    # Objects stay readable after commit: pages render them once the session is closed.
    return Session(engine_of(request), expire_on_commit=False)


def writing(request: Request) -> AbstractContextManager[Session]:
    """A session for a request that reads and then writes (see db.write_session: without it,
    concurrent form POSTs met 'database is locked' at once; bench: 2,943 503s in 10 s)."""
    return write_session(engine_of(request), expire_on_commit=False)


def browser_principal(request: Request) -> Principal | None:
    with db(request) as session:
        found = accounts.resolve(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        return None
    user, login = found
    return Principal(
        user.username, Role(user.role), login, user.must_change_password, user.language
    )


def api_principal(request: Request) -> Principal:
    """Bearer token, or (for reads only) a browser session."""
    authorization = request.headers.get("authorization")
    if bearer_token(authorization) is not None:
        admin_token = settings_of(request).rapport_admin_token
        caller = caller_of(engine_of(request), authorization, admin_token=admin_token)
        if caller is None:
            raise unauthorized("Invalid or revoked bearer token.")
        return Principal(caller.name, caller.role)
    principal = browser_principal(request)
    if principal is not None and principal.must_change_password:
        principal = None  # a one-time password's login only chooses the new password
    if principal is None or (request.method not in ("GET", "HEAD") and principal.login is not None):
        # Cookie-authenticated writes would need CSRF protection; the API takes tokens for writes.
        raise unauthorized("Send Authorization: Bearer <token>.")
    return principal


def api_writer(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    if not principal.can_write:
        raise HTTPException(status.HTTP_403_FORBIDDEN, READ_ONLY)
    return principal


def api_admin(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins may do this.")
    return principal


ApiReader = Annotated[Principal, Depends(api_principal)]
ApiWriter = Annotated[Principal, Depends(api_writer)]
ApiAdmin = Annotated[Principal, Depends(api_admin)]


def csrf_ok(expected: str | None, sent: object) -> bool:
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(expected or "", sent)
