"""Faults: broker outage answered with 503, consumer SIGKILLed mid-batch, two consumers sharing."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings
from services.common.db import make_engine
from services.common.kafka import ensure_topics, group_lag
from services.ingest.app import create_app
from services.ingest.publisher import Publisher
from tests.conftest import Broker, emptied, pipeline_settings
from tests.factories import event
from tests.ingest.helpers import (
    AUTH,
    consumer_db_errors,
    event_count,
    running_consumer,
    scalar,
    wait_until,
)
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker this test may stop and start without disturbing the others."""
    b = Broker(tmp_path / "tansu.log")
    b.start()
    yield b
    b.stop()


def test_broker_outage_gives_503_and_loses_nothing_acknowledged(
    own_broker: Broker, settings: Settings, engine: Engine
) -> None:
    s = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    ensure_topics(s.kafka)
    publisher = Publisher.of(s)
    publisher.timeout_s = 3
    acknowledged: list[str] = []
    with (
        TestClient(create_app(s, publisher=publisher, engine=engine)) as client,
        running_consumer(s, engine),
    ):
        first = [event(count=1) for _ in range(300)]
        assert client.post("/v1/interactions", json=first, headers=AUTH).status_code == 202
        acknowledged += [e["event_id"] for e in first]
        # The embedded broker keeps messages in memory: let the consumer take them first.
        wait_until(lambda: event_count(engine) == 300, what="events before the outage")

        own_broker.stop()
        refused = client.post("/v1/interactions", json=[event()], headers=AUTH)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert "Retry" in refused.json()["detail"]
        assert client.get("/readyz").status_code == 503

        own_broker.start()
        ensure_topics(s.kafka)
        second = [event(count=1) for _ in range(300)]

        def accepted_after_restart() -> bool:
            return client.post("/v1/interactions", json=second, headers=AUTH).status_code == 202

        wait_until(accepted_after_restart, timeout_s=60, what="ingest to recover")
        acknowledged += [e["event_id"] for e in second]
        wait_until(
            lambda: set(acknowledged) <= stored_ids(engine),
            timeout_s=90,
            what=lambda: (
                f"every acknowledged event ({len(set(acknowledged) & stored_ids(engine))} of 600)"
            ),
        )
    # The refused event may still arrive (at-least-once: the client retries it with the same id);
    # everything acknowledged arrived exactly once.
    assert len(stored_ids(engine) - set(acknowledged)) <= 1
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily") == event_count(engine)


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT event_id FROM interaction_event"))}


def consumer_process(s: Settings, tmp_path: Path) -> processes.subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": s.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": s.bootstrap_servers,
        "KAFKA_TOPIC": s.kafka_topic,
        "KAFKA_DLQ_TOPIC": s.kafka_dlq_topic,
        "KAFKA_CONSUMER_GROUP": s.kafka_consumer_group,
        "CONSUMER_METRICS_PORT": str(processes.free_port()),
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "CONSUMER_BATCH_MAX_EVENTS": "2000",
    }
    return processes.spawn(
        processes.rapport_command("consumer"), env=env, log=tmp_path / "consumer.log"
    )


def test_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    total = 30_000
    with TestClient(create_app(settings, engine=engine)) as client:
        for start in range(0, total, 5_000):
            chunk = [event(event_id=f"k-{i}", count=2) for i in range(start, start + 5_000)]
            assert client.post("/v1/interactions", json=chunk, headers=AUTH).status_code == 202
    for _kill in range(3):
        proc = consumer_process(settings, tmp_path)
        before = event_count(engine)
        wait_until(
            lambda before=before: event_count(engine) > before or event_count(engine) == total,  # type: ignore[misc]
            timeout_s=60,
            what="progress",
        )
        if event_count(engine) == total:
            processes.stop(proc)
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = consumer_process(settings, tmp_path)
    try:
        wait_until(
            lambda: event_count(engine) == total, timeout_s=120, what="all events after the kills"
        )
    finally:
        processes.stop(proc)
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily") == 2 * total
    assert scalar(engine, "SELECT SUM(events) FROM rollup_hourly") == total


def test_two_consumers_in_one_group_share_partitions(settings: Settings, engine: Engine) -> None:
    with running_consumer(settings, engine) as one, running_consumer(settings, engine) as two:
        wait_until(
            lambda: bool(one.assignment()) and bool(two.assignment()),
            what="both consumers assigned",
        )
        assert not one.assignment() & two.assignment()
        with TestClient(create_app(settings, engine=engine)) as client:
            for _ in range(20):
                batch = [event(event_id=f"two-{uuid.uuid4().hex}") for _ in range(200)]
                assert client.post("/v1/interactions", json=batch, headers=AUTH).status_code == 202
        wait_until(lambda: event_count(engine) == 4_000, what="4,000 events from two consumers")
        # Offsets follow their rows within one poll (the next batch is fetched meanwhile).
        wait_until(
            lambda: one.committed_events + two.committed_events == 4_000, what="offsets committed"
        )
        assert one.committed_events > 0 and two.committed_events > 0
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily") == 4_000


def test_consumer_sigterm_commits_and_exits_cleanly(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with TestClient(create_app(settings, engine=engine)) as client:
        for start in range(0, 6_000, 2_000):
            chunk = [event(event_id=f"t-{i}") for i in range(start, start + 2_000)]
            assert client.post("/v1/interactions", json=chunk, headers=AUTH).status_code == 202
    proc = consumer_process(settings, tmp_path)
    wait_until(lambda: event_count(engine) == 6_000, timeout_s=60, what="all events written")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert group_lag(settings.kafka) == 0  # offsets were committed before it left


def test_database_outage_pauses_the_consumer_without_committing(
    broker: Broker, postgresql_url: str, tmp_path: Path
) -> None:
    """PostgreSQL reached through a proxy that is cut for a while: ingest keeps accepting (Kafka
    holds the events), /readyz says the database is unreachable, the consumer retries without
    committing offsets, and after the database returns every event is there exactly once."""
    direct = make_engine(emptied(postgresql_url))
    proxy = TcpProxy("127.0.0.1", make_url(postgresql_url).port or 5432)
    proxy.start()
    via_proxy = make_url(postgresql_url).set(port=proxy.port).render_as_string(hide_password=False)
    s = pipeline_settings(broker, via_proxy)
    proxied = make_engine(via_proxy)
    errors_before = consumer_db_errors()
    try:
        with (
            TestClient(create_app(s, engine=proxied)) as client,
            running_consumer(s, proxied),
        ):
            first = [event(event_id=f"before-{i}") for i in range(200)]
            assert client.post("/v1/interactions", json=first, headers=AUTH).status_code == 202
            wait_until(lambda: event_count(direct) == 200, what="events before the outage")
            assert client.get("/readyz").json()["database"] == "ok"

            proxy.cut()
            during = [event(event_id=f"during-{i}") for i in range(300)]
            assert client.post("/v1/interactions", json=during, headers=AUTH).status_code == 202
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"].startswith("unreachable")
            wait_until(
                lambda: (
                    (REGISTRY.get_sample_value("rapport_consumer_db_errors_total") or 0)
                    >= errors_before + 2
                ),
                what="the consumer to fail and retry at least twice",
            )
            assert event_count(direct) == 200
            assert (group_lag(s.kafka) or 0) > 0  # nothing of the failed batches was committed

            proxy.restore()
            wait_until(lambda: event_count(direct) == 500, timeout_s=60, what="catch-up")
            wait_until(lambda: group_lag(s.kafka) == 0, what="offsets committed after recovery")
            assert client.get("/readyz").status_code == 200
        assert scalar(direct, "SELECT SUM(count) FROM rollup_daily") == 500
    finally:
        proxy.cut()
        proxied.dispose()
        direct.dispose()
