"""API tokens and bearer authentication: one check (`caller_of`) for every service's REST and
gRPC endpoints; ingest's route dependencies; moments adds browser sessions (moments/deps.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import grpc
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common.clock import utcnow
from services.common.deps import engine_of, settings_of
from services.domain.tables import ApiToken

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


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC metadata),
    None when the value is missing or another scheme."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip()


@dataclass(frozen=True)
class Caller:
    """Who a bearer token stands for: its role, and its name in the audit trail and logs
    ("admin-token", or "token:" + the name it was created with)."""

    role: Role
    name: str

    @property
    def can_write(self) -> bool:
        return self.role is not Role.viewer


def caller_of(
    engine: Engine, authorization: str | None, *, admin_token: str | None
) -> Caller | None:
    """The one bearer check of every service, REST and gRPC alike: the caller an
    `Authorization` value names, None when it is missing, another scheme, unknown or revoked."""
    token = bearer_token(authorization)
    if token is None:
        return None
    with Session(engine) as session:
        found = identify(session, token, admin_token=admin_token)
    return Caller(*found) if found else None


READ_ONLY = "This token is read-only (viewer)."


def unauthorized(detail: str) -> HTTPException:
    """401 with the challenge that names the scheme."""
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def grpc_caller(
    context: grpc.ServicerContext, engine: Engine, *, admin_token: str | None, write: bool
) -> Caller:
    """The caller of a gRPC method from its `authorization` metadata; aborts the call
    UNAUTHENTICATED without a valid token, PERMISSION_DENIED for a viewer's write."""
    metadata = dict(context.invocation_metadata())
    found = caller_of(engine, str(metadata.get("authorization", "")), admin_token=admin_token)
    if found is None:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "metadata authorization: Bearer <token>")
        raise AssertionError("abort raises")  # pragma: no cover - grpc's abort always raises
    if write and not found.can_write:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "this token is read-only (viewer)")
    return found


# Declares the bearer scheme in the OpenAPI document; the header is checked below.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `rapport tokens create`.")


def require_reader(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Role:
    """FastAPI dependency (ingest): a valid bearer token of any role (viewer, manager, admin)."""
    found = caller_of(
        engine_of(request),
        request.headers.get("authorization"),
        admin_token=settings_of(request).rapport_admin_token,
    )
    if found is None:
        raise unauthorized("A valid bearer token is required: Authorization: Bearer <token>.")
    return found.role


def require_writer(
    role: Annotated[Role, Depends(require_reader)],
) -> Role:
    """FastAPI dependency (ingest): a valid bearer token with the admin or manager role."""
    if role is Role.viewer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=READ_ONLY)
    return role


ReaderDep = Annotated[Role, Depends(require_reader)]
WriterDep = Annotated[Role, Depends(require_writer)]
