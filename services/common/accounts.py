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


MIN_PASSWORD = 10
USED_MARK = "used-one-time:"  # prefixed to a spent one-time password's hash: it never verifies


def create(
    session: Session, *, username: str, password: str, role: Role, one_time: bool = False
) -> User:
    """A new account; `one_time`: the password was generated for them and must be replaced at
    the first login."""
    _check_password(password)
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
        must_change_password=one_time,
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")


def spend_one_time_password(session: Session, user: User) -> None:
    """After a login with a one-time password: it works no more; this login may only choose
    the new one."""
    if user.must_change_password and not user.password_hash.startswith(USED_MARK):
        user.password_hash = USED_MARK + user.password_hash
        session.add(user)
        session.commit()


def change_password(session: Session, user: User, *, new: str, current: str | None) -> None:
    """Set a new password; `current` is required unless this login came with a one-time one."""
    if not user.must_change_password:
        try:
            _hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise ValueError("the current password is wrong") from None
    _check_password(new)
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    session.add(user)
    session.commit()


def user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise ValueError(f"no user {username!r}")
    return user


def _end_all(session: Session, user: User) -> None:
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user.id))


def _keep_an_admin(session: Session, user: User) -> None:
    admins = session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin.value, col(User.disabled).is_(False))
    ).one()
    if user.role == Role.admin.value and not user.disabled and admins <= 1:
        raise ValueError(f"{user.username!r} is the only admin left: make another admin first")


def reset_password(session: Session, username: str) -> str:
    """A new one-time password (shown once); every login of the account ends."""
    user = user_named(session, username)
    password = generate_password()
    user.password_hash = _hasher.hash(password)
    user.must_change_password = True
    session.add(user)
    _end_all(session, user)
    session.commit()
    return password


def set_disabled(session: Session, username: str, *, disabled: bool) -> User:
    """Disable (every login ends, none starts) or enable an account."""
    user = user_named(session, username)
    if disabled:
        _keep_an_admin(session, user)
        _end_all(session, user)
    user.disabled = disabled
    session.add(user)
    session.commit()
    return user


def set_role(session: Session, username: str, role: Role) -> User:
    user = user_named(session, username)
    if role != Role.admin:
        _keep_an_admin(session, user)
    user.role = role.value
    session.add(user)
    session.commit()
    return user


def listed(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))))


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


# The browser session cookie of both sites: its value is a random session id, looked up (and
# ended) in the database; HttpOnly, SameSite=Lax, Secure over HTTPS, expiring with the session.
SESSION_COOKIE = "rapport_session"


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
