"""Running the real consumer and waiting on the real database, for pipeline tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.consumer import Consumer

AUTH = {"Authorization": "Bearer test-admin-token"}


@contextmanager
def running_consumer(settings: Settings, engine: Engine) -> Iterator[Consumer]:
    consumer = Consumer(settings, engine, session_timeout_ms=6000)
    thread = threading.Thread(target=consumer.run, name="consumer", daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop_event.set()
        thread.join(30)


def wait_until(
    predicate: Callable[[], bool],
    timeout_s: float = 30.0,
    what: str | Callable[[], str] = "condition",
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout_s}s waiting for {described}")
        time.sleep(0.1)


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def consumer_db_errors() -> float:
    """Batches the consumers of this process failed to write so far (they retry them)."""
    return REGISTRY.get_sample_value("rapport_consumer_db_errors_total") or 0.0


def event_count(engine: Engine) -> int:
    return scalar(engine, "SELECT COUNT(*) FROM interaction_event")
