"""API tokens and bearer authentication shared by every service's write endpoints."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common.clock import utcnow
from services.domain.schema import ApiToken

TOKEN_PREFIX = "rpt_"  # noqa: S105 - a visible prefix, not a secret


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    viewer = "viewer"


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; a password hash would only slow
    # every request down.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, role: Role) -> str:
    """Store a new token and return it in clear, the only time it is ever shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ApiToken(name=name, role=role.value, token_hash=hash_token(token), created_at=now))
    session.commit()
    return token


def revoke_token(session: Session, *, name: str) -> int:
    """Revoke every active token with this name; returns how many were revoked."""
    now = utcnow()
    tokens = session.exec(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).all()
    for token in tokens:
        token.revoked_at = now
        session.add(token)
    session.commit()
    return len(tokens)


def identify(session: Session, token: str, *, admin_token: str | None) -> tuple[Role, str] | None:
    """(role, name) a bearer token stands for, or None when it is unknown or revoked."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Role.admin, "admin-token"
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Role(row.role), f"token:{row.name}"


def role_for_token(session: Session, token: str, *, admin_token: str | None) -> Role | None:
    """The role a bearer token grants, or None when it is unknown or revoked."""
    found = identify(session, token, admin_token=admin_token)
    return found[0] if found else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC metadata),
    None when the value is missing or another scheme."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip()


def authenticate(
    engine: Engine, authorization: str | None, *, admin_token: str | None
) -> Role | None:
    """Resolve an `Authorization` header value to a role (None when missing or invalid)."""
    token = bearer_token(authorization)
    if token is None:
        return None
    with Session(engine) as session:
        return role_for_token(session, token, admin_token=admin_token)


# Declares the bearer scheme in the OpenAPI document; the header is checked below.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `rapport tokens create`.")


def require_reader(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Role:
    """FastAPI dependency: a valid bearer token of any role (viewer, manager or admin)."""
    state = request.app.state
    role = authenticate(
        state.engine,
        request.headers.get("authorization"),
        admin_token=state.settings.rapport_admin_token,
    )
    if role is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="A valid bearer token is required: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return role


def require_writer(
    role: Annotated[Role, Depends(require_reader)],
) -> Role:
    """FastAPI dependency: a valid bearer token with the admin or manager role.

    The app provides `state.engine` and `state.settings`."""
    if role is Role.viewer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This token is read-only (viewer).")
    return role


ReaderDep = Annotated[Role, Depends(require_reader)]
WriterDep = Annotated[Role, Depends(require_writer)]
