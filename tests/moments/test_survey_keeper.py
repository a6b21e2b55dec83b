"""The keeper on SQLite, whose one writer may be another process (the consumer): an answer
waits for the write lock by asking again every few milliseconds, is kept once the lock is free,
and is refused (the page answers 503) only after the busy timeout, as before."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common.db import make_engine
from services.moments import survey_outbox, surveys
from tests.ingest.helpers import scalar


def answer(conversation: str, stars: int) -> survey_outbox.Answer:
    survey = surveys.Survey("twitter", conversation, int(time.time()) + 600)
    return survey_outbox.Answer(survey, stars, "", dt.datetime.now(dt.UTC))


def busy_timeout(engine: Engine) -> int:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        return int(raw.execute("PRAGMA busy_timeout").fetchone()[0])


def another_writer(db_url: str) -> sqlite3.Connection:
    """A connection of its own (another process's, as the consumer's is) holding the lock."""
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None,
                            check_same_thread=False)  # fmt: skip
    other.execute("BEGIN IMMEDIATE")
    return other


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_answer_behind_another_writer_is_kept_once_it_commits(
    engine: Engine, db_url: str
) -> None:
    assert busy_timeout(engine) > 0
    other = another_writer(db_url)
    released = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    released.start()
    try:
        survey_outbox.keep(engine, [answer("w1", 4)])
    finally:
        released.join()
        other.close()
    assert scalar(engine, "SELECT COUNT(*) FROM survey_outbox") == 1
    assert busy_timeout(engine) == 30_000  # the connection goes back to the pool as it was


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_answer_is_refused_once_the_busy_timeout_has_passed(db_url: str) -> None:
    engine = make_engine(db_url)

    @event.listens_for(engine, "connect")
    def short_wait(dbapi_conn: Any, _record: Any) -> None:  # after the project's own pragmas
        dbapi_conn.execute("PRAGMA busy_timeout=300")

    other = another_writer(db_url)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="locked"):
            survey_outbox.keep(engine, [answer("w2", 2)])
        assert time.monotonic() - started >= 0.3
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert busy_timeout(engine) == 300
    survey_outbox.keep(engine, [answer("w2", 3)])  # the lock free: kept at once
    assert scalar(engine, "SELECT COUNT(*) FROM survey_outbox") == 1
    engine.dispose()
