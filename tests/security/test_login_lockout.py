"""Failed logins are counted in the database per (username, client address), and per address:
two real moments processes share one count, a restart clears nothing, parallel attempts never
check more than five passwords, a stranger cannot lock a known user out, the address comes from
X-Forwarded-For only behind a trusted proxy, and the table stays bounded."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import processes
from services.common.config import Settings
from services.domain import accounts
from services.domain.auth import Role

PASSWORD = "correct horse battery"


@contextmanager
def moments_process(db_url: str, log: Path, trusted_proxies: str = "") -> Iterator[httpx.Client]:
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MOMENTS_HTTP_PORT": str(port),
        "MOMENTS_GRPC_PORT": str(processes.free_port()),
        "MOMENTS_METRICS_PORT": str(processes.free_port()),
        "SHEETS_SYNC_IN_SERVICE": "false",
        "RAPPORT_TRUSTED_PROXIES": trusted_proxies,
    }
    server = processes.spawn(processes.rapport_command("moments"), env=env, log=log)
    try:
        processes.wait_for_port(port, timeout_s=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        processes.stop(server)


def login_form(client: httpx.Client, password: str, username: str = "maria") -> dict[str, str]:
    """The login form filled in, with its CSRF token (its cookie stays in `client`)."""
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return {"username": username, "password": password, "csrf_token": match.group(1)}


def try_login(
    client: httpx.Client, password: str, *, username: str = "maria", via: str | None = None
) -> int:
    """The status of one login; `via`: the X-Forwarded-For a proxy would add."""
    headers = {"X-Forwarded-For": via} if via else {}
    form = login_form(client, password, username)
    return client.post("/login", data=form, headers=headers).status_code


def test_two_processes_share_one_count_and_a_restart_clears_nothing(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as session:
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    with (
        moments_process(db_url, tmp_path / "a.log") as a,
        moments_process(db_url, tmp_path / "b.log") as b,
    ):
        assert [try_login(a, "guess") for _ in range(3)] == [401] * 3
        assert [try_login(b, "guess") for _ in range(2)] == [401] * 2
        assert try_login(a, PASSWORD) == 429  # five failures in all, across both
        assert try_login(b, PASSWORD) == 429
    with moments_process(db_url, tmp_path / "c.log") as c:  # a restart: still locked
        assert try_login(c, PASSWORD) == 429


def test_forty_parallel_attempts_check_at_most_five_passwords(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """All sent at once: each attempt is recorded before its password is hashed, so the sixth
    and later are refused whatever the order (before: 25 of 40 were checked)."""
    with Session(engine) as session:
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    with moments_process(db_url, tmp_path / "m.log") as first:
        clients = [httpx.Client(base_url=first.base_url, timeout=60) for _ in range(40)]
        passwords = [f"guess {n}" for n in range(39)] + [PASSWORD]
        forms = [login_form(c, p) for c, p in zip(clients, passwords, strict=True)]
        go = threading.Barrier(len(clients))
        statuses: list[int] = []

        def attempt(client: httpx.Client, form: dict[str, str]) -> None:
            go.wait()
            statuses.append(client.post("/login", data=form).status_code)

        threads = [
            threading.Thread(target=attempt, args=pair) for pair in zip(clients, forms, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
    checked = [s for s in statuses if s != 429]
    assert len(statuses) == 40 and len(checked) <= 5, sorted(statuses)
    assert set(checked) <= {401, 303}


def test_a_stranger_cannot_lock_a_known_user_out(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Behind a trusted proxy (127.0.0.1 here) the address is the one it forwards."""
    with Session(engine) as session:
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    with moments_process(db_url, tmp_path / "m.log", trusted_proxies="127.0.0.1") as client:
        stranger, maria = "198.51.100.7", "203.0.113.5"
        assert [try_login(client, "guess", via=stranger) for _ in range(5)] == [401] * 5
        assert try_login(client, PASSWORD, via=stranger) == 429  # locked: from there
        assert try_login(client, PASSWORD, via=f"{maria}, 127.0.0.1") == 303  # maria is not


def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Without RAPPORT_TRUSTED_PROXIES, a client naming itself another address every time is
    still counted as where it connects from."""
    with Session(engine) as session:
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    with moments_process(db_url, tmp_path / "m.log") as client:
        tries = [try_login(client, "guess", via=f"198.51.100.{n}") for n in range(5)]
        assert tries == [401] * 5
        assert try_login(client, PASSWORD, via="203.0.113.5") == 429


def test_the_count_is_bounded_and_expires(engine: Engine) -> None:
    limiter = accounts.LoginLimiter(engine, attempts=5, per_address=50, window_s=300)
    here, elsewhere, sprayer = "203.0.113.9", "198.51.100.1", "192.0.2.1"
    tries = [limiter.begin("maria", here) for _ in range(8)]
    assert [t is not None for t in tries] == [True] * 5 + [False] * 3
    assert limiter.begin("maria", elsewhere) is not None  # only maria from `here` is locked
    assert limiter.begin("x" * 5000, elsewhere) is not None  # a typed name of any length
    sprayed = [limiter.begin(f"user{number}", sprayer) for number in range(60)]
    assert [t is not None for t in sprayed] == [True] * 50 + [False] * 10  # per address

    def rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM login_failure")).scalar_one())

    assert rows() == 2 * 5 + 2 * 2 + 2 * 50  # a refused attempt adds no row
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
    with engine.begin() as conn:
        conn.execute(text("UPDATE login_failure SET failed_at = :old"), {"old": old})
    attempt = limiter.begin("maria", here)  # the window passed
    assert attempt is not None
    assert rows() == 2  # expired rows are deleted at the next attempt
    limiter.succeeded(attempt)
    assert rows() == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param("10.0.0.5, 10.1.0.0/16, ::1", None, id="addresses-and-networks"),
        pytest.param("", None, id="none"),
        pytest.param("*", "'*' is not an IP address", id="everyone"),
        pytest.param("proxy.internal", "'proxy.internal' is not an IP address", id="a-name"),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(value: str, problem: str | None) -> None:
    if problem is None:
        Settings(rapport_trusted_proxies=value, _env_file=None)  # type: ignore[call-arg]
        return
    with pytest.raises(ValidationError, match="RAPPORT_TRUSTED_PROXIES") as raised:
        Settings(rapport_trusted_proxies=value, _env_file=None)  # type: ignore[call-arg]
    assert problem in str(raised.value)
