"""What the completeness line rests on: dead letters stored once, the consumer's progress, and the
line itself, through the real broker and consumer on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common.clock import utcnow
from services.common.config import Settings
from services.common.kafka import make_producer
from services.domain.period import Period
from services.ingest import dead_letters
from services.ingest.app import create_app
from services.reports import completeness
from services.reports.completeness import Partition, freshness
from tests.factories import event
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until

UTC = ZoneInfo("UTC")
PERIOD = Period.of(2026, dt.date(2026, 12, 31), UTC)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def post_ndjson(client: TestClient, lines: list[bytes]) -> None:
    response = client.post(
        "/v1/interactions",
        content=b"\n".join(lines),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202, response.text


def test_dead_letters_and_progress_reach_the_database_once(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    post_ndjson(
        client,
        [
            orjson.dumps(event(event_id="good-1", occurred_at="2026-03-02T10:00:00Z")),
            b'{"event_id": "broken", ',
            orjson.dumps(event(event_id="bad-kind", kind="poke")),
            orjson.dumps(event(event_id="good-2", occurred_at="2026-03-03T10:00:00Z")),
        ],
    )
    # A record the consumer itself cannot read: it dead-letters it, then stores that letter too.
    producer = make_producer(settings.kafka)
    producer.send(settings.kafka_topic, value=b"not protobuf at all").get(timeout=10)
    producer.close()

    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 2, what="the two valid events")
        wait_until(
            lambda: scalar(engine, "SELECT COUNT(*) FROM dead_letter") == 3,
            what="three stored dead letters",
        )
        wait_until(
            lambda: (
                scalar(
                    engine,
                    "SELECT COUNT(*) FROM consumer_progress WHERE next_offset = high_water "
                    "AND next_offset > 0",
                )
                >= 1
            ),
            what="progress caught up",
        )
    found = completeness.read(engine, PERIOD, group_id=settings.kafka_consumer_group)
    assert (found.events, found.dead_letters, found.freshness.state) == (2, 3, "current")
    reasons = scalar(
        engine,
        "SELECT COUNT(*) FROM dead_letter WHERE (source, reason) IN "
        "(('rest', 'malformed_json'), ('rest', 'kind'), ('consumer', 'undecodable'))",
    )
    assert reasons == 3
    assert completeness.line(found.as_dict()) == (
        "Based on 2 events · 3 could not be read or were refused this period · up to date"
    )
    newest = dead_letters.latest(engine, 10)
    assert {(row[1], row[2]) for row in newest} == {
        ("rest", "malformed_json"),
        ("rest", "kind"),
        ("consumer", "undecodable"),
    }
    assert any("Wire format" in str(row[5]) for row in newest)
    # Another consumer of the same group reads from the committed offsets: nothing is stored twice.
    with running_consumer(settings, engine) as again:
        wait_until(lambda: bool(again.assignment()), what="the second consumer's partitions")
        post_ndjson(client, [orjson.dumps(event(event_id="good-3"))])
        wait_until(lambda: event_count(engine) == 3, what="the third event")
    assert scalar(engine, "SELECT COUNT(*) FROM dead_letter") == 3

    # Ten minutes (and the seconds since) without a report: the line says so, not "up to date".
    later = completeness.read(
        engine,
        PERIOD,
        group_id=settings.kafka_consumer_group,
        now=utcnow() + dt.timedelta(minutes=10),
    )
    assert later.freshness.state == "silent"
    assert "has not reported for 11 min" in completeness.line(later.as_dict())
    # A filter narrows the events; dead letters are not per network, and the line says so.
    filtered = completeness.read(
        engine, PERIOD, group_id=settings.kafka_consumer_group, network="linkedin"
    )
    assert filtered.events == 0
    assert "(all networks together)" in completeness.line(filtered.as_dict())


def test_a_consumer_that_has_never_reported_is_named() -> None:
    assert freshness([], utcnow()).state == "unknown"


def test_a_consumer_behind_bounds_the_age_of_the_figures() -> None:
    now = dt.datetime(2026, 6, 1, 12, 0)
    partitions = [
        # Caught up.
        Partition(100, 100, now - dt.timedelta(minutes=30), now - dt.timedelta(seconds=5)),
        # 400 records behind; the last one written was accepted 6 min 10 s ago, so nothing
        # missing is older than that.
        Partition(50, 450, now - dt.timedelta(minutes=6, seconds=10), now),
    ]
    found = freshness(partitions, now)
    assert (found.state, found.records, found.up_to_s) == ("behind", 400, 370.0)
    text = completeness.freshness_text(
        completeness.Completeness(1, 0, found, filtered=False).as_dict()["consumer"]
    )
    assert text == "figures may be up to 7 min old (the consumer is catching up)"
    # Behind by seconds only (the consumer is writing): still up to date.
    busy = [Partition(50, 60, now - dt.timedelta(seconds=3), now)]
    assert completeness.freshness_text(
        completeness.Completeness(1, 0, freshness(busy, now), filtered=False).as_dict()["consumer"]
    ) == ("up to date")
