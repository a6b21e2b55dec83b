"""Failed logins are counted in the database: two real moments processes and the reports app
share one count, a restart clears nothing, and the table stays bounded."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import accounts, processes
from services.common.auth import Role

PASSWORD = "correct horse battery"


@contextmanager
def moments_process(db_url: str, log: Path) -> Iterator[httpx.Client]:
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MOMENTS_HTTP_PORT": str(port),
        "MOMENTS_GRPC_PORT": str(processes.free_port()),
        "MOMENTS_METRICS_PORT": str(processes.free_port()),
    }
    server = processes.spawn(processes.rapport_command("moments"), env=env, log=log)
    try:
        processes.wait_for_port(port, timeout_s=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        processes.stop(server)


def try_login(client: httpx.Client, password: str) -> int:
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return client.post(
        "/login", data={"username": "maria", "password": password, "csrf_token": match.group(1)}
    ).status_code


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
    # The reports app asks the same table.
    assert accounts.LoginLimiter(engine).blocked("user:maria")


def test_the_count_is_bounded_and_expires(engine: Engine) -> None:
    limiter = accounts.LoginLimiter(engine, attempts=5, window_s=300)
    for number in range(40):
        limiter.failed("user:maria", f"user:guess{number}", "ip:203.0.113.9")

    def rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM login_failure")).scalar_one())

    assert rows() == 5 + 40 + 5  # a blocked key gains no more rows
    assert limiter.blocked("user:maria") and limiter.blocked("ip:203.0.113.9")
    assert not limiter.blocked("user:guess3")
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
    with engine.begin() as conn:
        conn.execute(text("UPDATE login_failure SET failed_at = :old"), {"old": old})
    assert not limiter.blocked("user:maria")  # the window passed
    limiter.failed("user:other")
    assert rows() == 1  # expired rows are deleted at the next failure
    limiter.succeeded("user:other")
    assert rows() == 0
