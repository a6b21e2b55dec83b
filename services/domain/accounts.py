"""Staff accounts for every page: argon2 password hashes, login sessions with CSRF tokens, and
failed-login limits shared by the moments and reports processes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from services.common import i18n
from services.common.clock import utcnow
from services.common.db import write_session
from services.common.i18n import N_
from services.domain.auth import Role
from services.domain.tables import LoginFailure, User, UserSession

SESSION_TTL = dt.timedelta(hours=12)
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


MIN_PASSWORD = 10
USED_MARK = "used-one-time:"  # prefixed to a spent one-time password's hash: it never verifies


USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def check_username(username: str) -> str:
    """A new account's username, lower-cased: one word people can type at the login."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise i18n.Problem(
            N_(
                "A username is one word of up to 64 letters, digits, dots, dashes or "
                "underscores (no spaces), starting with a letter or digit."
            )
        )
    return name


def create(
    session: Session, *, username: str, password: str, role: Role, one_time: bool = False
) -> User:
    """A new account; `one_time`: the password was generated for them and must be replaced at
    the first login."""
    _check_password(password)
    username = username.strip().lower()
    if not username:
        raise i18n.Problem(N_("Give a username."))
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise i18n.Problem(
            N_("There is already a user named {username}: choose another username."),
            username=username,
        )
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
        raise i18n.Problem(
            N_("the password needs at least {minimum} characters"), minimum=MIN_PASSWORD
        )


def spend_one_time_password(session: Session, user: User) -> None:
    """After a login with a one-time password: it works no more; this login may only choose
    the new one."""
    if user.must_change_password and not user.password_hash.startswith(USED_MARK):
        user.password_hash = USED_MARK + user.password_hash
        session.add(user)
        session.commit()


def spent_one_time_password(session: Session, *, username: str, password: str) -> bool:
    """True when `password` is the account's one-time password, already used for the login
    that must choose a new one (so the login page can say how to get another)."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.must_change_password:
        return False
    if not user.password_hash.startswith(USED_MARK):
        return False
    try:
        return bool(_hasher.verify(user.password_hash.removeprefix(USED_MARK), password))
    except (VerificationError, InvalidHashError):
        return False


def change_password(
    session: Session, user: User, *, new: str, current: str | None, keep: str | None = None
) -> None:
    """Set a new password; `current` is required unless this login came with a one-time one.
    Every other login of the account ends (whoever got in elsewhere is out); `keep`: the
    stored id of the login that changed it, which goes on."""
    if not user.must_change_password:
        try:
            _hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise i18n.Problem(N_("the current password is wrong")) from None
    _check_password(new)
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    session.add(user)
    _end_all(session, user, keep=keep)
    session.commit()


def user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise i18n.Problem(N_("There is no user named {username}."), username=username)
    return user


def _end_all(session: Session, user: User, *, keep: str | None = None) -> None:
    ending = delete(UserSession).where(col(UserSession.user_id) == user.id)
    if keep is not None:
        ending = ending.where(col(UserSession.id) != keep)
    session.exec(ending)


def _keep_an_admin(session: Session, user: User) -> None:
    admins = session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin.value, col(User.disabled).is_(False))
    ).one()
    if user.role == Role.admin.value and not user.disabled and admins <= 1:
        raise i18n.Problem(
            N_("'{username}' is the only admin left: make another admin first"),
            username=user.username,
        )


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


def set_language(session: Session, username: str, language: str | None) -> User:
    """The account's own language; None goes back to the browser's."""
    if language is not None and i18n.supported(language) != language:
        raise ValueError(
            f"language: {language!r} is not one of {', '.join(i18n.LANGUAGES)} "
            "(or 'browser' for the browser's)"
        )
    user = user_named(session, username)
    user.language = language
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


# The browser session cookie of both sites: its value is a random session id; the database
# keeps only its SHA-256 (UserSession.id), like API tokens, so a copy of the database holds no
# cookie that logs in. HttpOnly, SameSite=Lax, Secure over HTTPS, expiring with the session.
SESSION_COOKIE = "rapport_session"


def stored_id(session_id: str) -> str:
    """What the database keeps of a session id. The id is 32 random bytes: nothing to guess,
    so one SHA-256 (no salt, no slow hash) is enough, and the lookup stays one primary key."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user: User) -> tuple[UserSession, str]:
    """A fresh session id at every login, so a planted cookie is never promoted (fixation):
    the login, and the id for the cookie (shown this once, stored only as its hash)."""
    assert user.id is not None
    session_id = secrets.token_urlsafe(32)
    login = UserSession(
        id=stored_id(session_id),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=utcnow(),
        expires_at=utcnow() + SESSION_TTL,
    )
    session.add(login)
    session.commit()
    return login, session_id


def resolve(session: Session, session_id: str | None) -> tuple[User, UserSession] | None:
    """The user and login of a cookie's session id, if it is current."""
    if not session_id:
        return None
    login = session.get(UserSession, stored_id(session_id))
    if login is None or login.expires_at < utcnow():
        return None
    user = session.get(User, login.user_id)
    if user is None or user.disabled:
        return None
    return user, login


def end_session(session: Session, login_id: str) -> None:
    """End a login, by its stored id (`UserSession.id`, as `resolve` found it)."""
    login = session.get(UserSession, login_id)
    if login is not None:
        session.delete(login)
        session.commit()


@dataclass(frozen=True)
class Attempt:
    """A login attempt recorded before its password is checked: its rows in login_failure."""

    pair_key: str
    address_row: int


class LoginLimiter:
    """At most `attempts` failed logins per (username, client address) and `per_address` per
    address, whatever the usernames, in `window_s`: five wrong passwords from a stranger lock
    the stranger out, not the user; a spray over many usernames meets the address's limit.

    Each attempt is a row, written and committed before the slow password check, then counted:
    of the attempts that pass, the last to commit counts every other one, so however many run
    in parallel (and across processes: the count is in the database) at most `attempts` reach
    the check. A success takes its rows back. Bounded: a refused attempt adds no row, and rows
    older than the window are deleted at every attempt."""

    def __init__(
        self, engine: Engine, attempts: int = 5, per_address: int = 50, window_s: float = 300.0
    ) -> None:
        self._engine = engine
        self.attempts = attempts
        self.per_address = per_address
        self.window = dt.timedelta(seconds=window_s)

    def _over(self, session: Session, pair: str, address: str, *, inclusive: bool) -> bool:
        rows = session.exec(
            select(LoginFailure.key, func.count())
            .where(
                col(LoginFailure.key).in_((pair, address)),
                LoginFailure.failed_at >= utcnow() - self.window,
            )
            .group_by(LoginFailure.key)
        ).all()
        counts = {key: int(count) for key, count in rows}
        # Before recording: full already? After: did this attempt go past the limit?
        slack = 0 if inclusive else 1
        return (
            counts.get(pair, 0) >= self.attempts + slack
            or counts.get(address, 0) >= self.per_address + slack
        )

    def begin(self, username: str, address: str) -> Attempt | None:
        """Record an attempt of `username` from `address`; None: too many, refuse it unchecked."""
        # Clipped to what a username and an address can be: whatever is typed fits the column.
        username, address = username[:100], address[:64]
        pair, by_address = f"user:{username} ip:{address}", f"ip:{address}"
        with write_session(self._engine) as session:
            session.exec(
                delete(LoginFailure).where(col(LoginFailure.failed_at) < utcnow() - self.window)
            )
            if self._over(session, pair, by_address, inclusive=True):
                session.commit()
                return None
            rows = [LoginFailure(key=key, failed_at=utcnow()) for key in (pair, by_address)]
            session.add_all(rows)
            session.commit()
            address_row = rows[1].id
        assert address_row is not None
        with Session(self._engine) as session:
            if self._over(session, pair, by_address, inclusive=False):
                return None  # parallel attempts went first; this one's rows count as failures
        return Attempt(pair, address_row)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the user's failures from there end, and this attempt is
        not one; the address keeps its other failures."""
        with write_session(self._engine) as session:
            session.exec(
                delete(LoginFailure).where(
                    (col(LoginFailure.key) == attempt.pair_key)
                    | (col(LoginFailure.id) == attempt.address_row)
                )
            )
            session.commit()
