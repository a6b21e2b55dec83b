"""A full disk under SQLite: a clear 503 or a paused consumer, never a 500, a loss or corruption.

The database lives on a small tmpfs that the test fills to the last byte (mounting needs root,
as in CI; elsewhere these tests skip and say why)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.common.config import Settings
from services.common.db import make_engine
from services.common.errors import database_problem
from services.common.kafka import group_lag
from services.domain import accounts
from services.domain.auth import Role
from services.domain.migrate import migrate
from services.ingest.app import create_app as create_ingest
from services.moments.app import create_app as create_moments
from tests.conftest import Broker, pipeline_settings
from tests.factories import event
from tests.factories_moments import moment as moment_body
from tests.ingest.helpers import (
    AUTH,
    consumer_db_errors,
    event_count,
    running_consumer,
    scalar,
    wait_until,
)
from tests.integration.conftest import SmallDisk
from tests.moments.conftest import PASSWORD, csrf_of, login
from tests.moments.test_web import form


def _database_on(disk: SmallDisk) -> tuple[str, Engine]:
    url = f"sqlite:///{disk.path / 'rapport.db'}"
    migrate(url)
    return url, make_engine(url)


def _intact(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_moments_answer_503_when_the_disk_is_full_and_recover(disk: SmallDisk) -> None:
    url, engine = _database_on(disk)
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        rapport_admin_token="test-admin-token",
        moments_grpc_port=0,
        _env_file=None,
    )
    with TestClient(create_moments(settings, engine=engine, sync_sheets=False)) as client:
        disk.fill()
        refused = client.post("/api/v1/moments", json=moment_body(), headers=AUTH)
        assert refused.status_code == 503, refused.text
        assert "disk is full" in refused.json()["detail"]
        assert "nothing was saved" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0

        disk.free()
        saved = client.post("/api/v1/moments", json=moment_body(), headers=AUTH)
        assert saved.status_code == 201, saved.text
    assert scalar(engine, "SELECT COUNT(*) FROM moment") == 1
    assert scalar(engine, "SELECT COUNT(*) FROM sheet_outbox") == 1  # queued with the moment
    _intact(engine)
    engine.dispose()


def test_the_web_form_says_not_saved_when_the_disk_is_full(disk: SmallDisk) -> None:
    url, engine = _database_on(disk)
    settings = Settings(database_url=url, moments_grpc_port=0, _env_file=None)  # type: ignore[call-arg]
    with Session(engine) as session:
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    with TestClient(create_moments(settings, engine=engine, sync_sheets=False)) as client:
        login(client, "maria")
        csrf = csrf_of(client)
        disk.fill()
        page = client.post("/moments", data=form(csrf), follow_redirects=False)
        assert page.status_code == 503
        assert "Not saved" in page.text and "disk is full" in page.text
        disk.free()
    assert scalar(engine, "SELECT COUNT(*) FROM moment") == 0
    _intact(engine)
    engine.dispose()


def test_consumer_pauses_on_a_full_disk_and_catches_up_exactly_once(
    broker: Broker, disk: SmallDisk
) -> None:
    url, engine = _database_on(disk)
    settings = pipeline_settings(broker, url)
    errors_before = consumer_db_errors()
    with (
        TestClient(create_ingest(settings, engine=engine)) as client,
        running_consumer(settings, engine),
    ):
        disk.fill()
        batch = [event(event_id=f"full-{i}", actor="x" * 400) for i in range(2_000)]
        assert client.post("/v1/interactions", json=batch, headers=AUTH).status_code == 202
        wait_until(
            lambda: (
                (REGISTRY.get_sample_value("rapport_consumer_db_errors_total") or 0)
                >= errors_before + 2
            ),
            what="the consumer to fail on the full disk and retry",
        )
        # Nothing is committed while writes fail. (The table is not read here: on a full disk
        # SQLite may fail even reads, "disk I/O error", when its -shm file cannot grow.)
        assert (group_lag(settings.kafka) or 0) > 0
        disk.free()
        wait_until(lambda: event_count(engine) == 2_000, timeout_s=60, what="catch-up")
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily") == 2_000
    _intact(engine)
    engine.dispose()


def test_full_disk_message_names_the_cause() -> None:
    # The 503 text comes from the driver's own words, cut to its first line.
    exc = OperationalError("INSERT ...", {}, Exception("database or disk is full\nmore"))
    assert re.search(r"\(database or disk is full\); nothing was saved\.$", database_problem(exc))
