"""Staff accounts for every page: argon2 password hashes, login sessions with CSRF tokens, and
failed-login limits shared by the moments and reports processes."""

from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from services.common.auth import Role
from services.common.clock import utcnow
from services.common.db import write_session
from services.common.schema import LoginFailure, User, UserSession

SESSION_TTL = dt.timedelta(hours=12)
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def create(session: Session, *, username: str, password: str, role: Role) -> User:
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    username = username.strip().lower()
    if not username:
        raise ValueError("the username is empty")
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise ValueError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        created_at=utcnow(),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def verify(session: Session, *, username: str, password: str) -> User | None:
    """The user when the password matches and the account is enabled."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    return user


def start_session(session: Session, user: User) -> UserSession:
    """A fresh session id at every login, so a planted cookie is never promoted (fixation)."""
    assert user.id is not None
    login = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=utcnow(),
        expires_at=utcnow() + SESSION_TTL,
    )
    session.add(login)
    session.commit()
    return login


def resolve(session: Session, session_id: str | None) -> tuple[User, UserSession] | None:
    if not session_id:
        return None
    login = session.get(UserSession, session_id)
    if login is None or login.expires_at < utcnow():
        return None
    user = session.get(User, login.user_id)
    if user is None or user.disabled:
        return None
    return user, login


def end_session(session: Session, session_id: str) -> None:
    login = session.get(UserSession, session_id)
    if login is not None:
        session.delete(login)
        session.commit()


class LoginLimiter:
    """At most `attempts` failed logins per username and per client address in `window_s`.

    Counted in the database, so every moments and reports process shares one count and a
    restart clears nothing. Bounded: a key stops gaining rows once it is blocked, and rows older
    than the window are deleted at every failure."""

    def __init__(self, engine: Engine, attempts: int = 5, window_s: float = 300.0) -> None:
        self._engine = engine
        self.attempts = attempts
        self.window = dt.timedelta(seconds=window_s)

    def _counts(self, session: Session, keys: tuple[str, ...]) -> dict[str, int]:
        rows = session.exec(
            select(LoginFailure.key, func.count())
            .where(
                col(LoginFailure.key).in_(keys), LoginFailure.failed_at >= utcnow() - self.window
            )
            .group_by(LoginFailure.key)
        ).all()
        return {key: int(count) for key, count in rows}

    def blocked(self, *keys: str) -> bool:
        with Session(self._engine) as session:
            return any(n >= self.attempts for n in self._counts(session, keys).values())

    def failed(self, *keys: str) -> None:
        with write_session(self._engine) as session:
            session.exec(
                delete(LoginFailure).where(col(LoginFailure.failed_at) < utcnow() - self.window)
            )
            counts = self._counts(session, keys)
            for key in keys:
                if counts.get(key, 0) < self.attempts:
                    session.add(LoginFailure(key=key, failed_at=utcnow()))
            session.commit()

    def succeeded(self, *keys: str) -> None:
        with write_session(self._engine) as session:
            session.exec(delete(LoginFailure).where(col(LoginFailure.key).in_(keys)))
            session.commit()
