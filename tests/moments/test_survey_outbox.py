"""Nothing a customer answered is lost (docs/using.md#customer-satisfaction-surveys): the survey
page keeps each answer in the survey outbox and the relay sends it on, through a broker that was
down, a broker that died holding it, and a crash between Kafka's acknowledgement and the mark;
each answer is counted once. On SQLite and PostgreSQL, with a real broker and the real consumer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common.clock import utcnow
from services.common.config import Settings
from services.common.kafka import ensure_topics
from services.ingest.sink import write_batch
from services.moments import survey_outbox
from services.moments.app import create_app
from services.moments.web import survey_page
from tests.conftest import Broker
from tests.factories import batch, message
from tests.ingest.helpers import running_consumer, scalar, wait_until
from tests.moments.test_surveys import SECRET, UTC, minted, rating_of


@pytest.fixture
def survey_settings(settings: Settings) -> Settings:
    for limiter in (survey_page.PER_TOKEN, survey_page.PER_ADDRESS):
        limiter._hits.clear()
    return settings.model_copy(update={"rapport_survey_secret": SECRET, "moments_grpc_port": 0})


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own, not started yet: it may be down, then come, then die."""
    b = Broker(tmp_path / "tansu.log")
    yield b
    b.stop()


def waiting(engine: Engine) -> int:
    return scalar(engine, "SELECT COUNT(*) FROM survey_outbox")


def counted(engine: Engine) -> tuple[Any, ...]:
    """What every figure reads: ratings stored, and the daily rollup's events and sum."""
    return (
        scalar(engine, "SELECT COUNT(*) FROM interaction_event WHERE kind = 'rating'"),
        scalar(engine, "SELECT COALESCE(SUM(events), 0) FROM rollup_daily WHERE kind = 'rating'"),
        scalar(engine, "SELECT COALESCE(SUM(count), 0) FROM rollup_daily WHERE kind = 'rating'"),
    )


def conversation(engine: Engine, conversation_id: str) -> None:
    write_batch(engine, [batch(message("message_received", conversation_id,
                                       "2026-03-02T10:00:00Z", account="@help"))], UTC)  # fmt: skip


def test_an_answer_given_while_the_broker_is_down_is_thanked_and_written_once_it_is_back(
    survey_settings: Settings, engine: Engine, own_broker: Broker
) -> None:
    s = survey_settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    conversation(engine, "c1")
    with TestClient(create_app(s, engine=engine, sync_sheets=False)) as client:
        page = client.post(minted("c1"), data={"rating": "4", "comment": "kept safe"})
        assert page.status_code == 200 and "Thank you!" in page.text
        assert waiting(engine) == 1
        wait_until(lambda: scalar(engine, "SELECT MAX(attempts) FROM survey_outbox") >= 1,
                   what="the relay to try and fail")  # fmt: skip
        own_broker.start()
        ensure_topics(s.kafka)
        with running_consumer(s, engine):
            wait_until(lambda: rating_of(engine, "c1") == (4, "kept safe", "@help"),
                       timeout_s=60, what="the answer in the database")  # fmt: skip
            wait_until(lambda: waiting(engine) == 0, what="the outbox to empty")
    assert counted(engine) == (1, 1, 4)


def test_an_answer_the_broker_lost_after_acknowledging_it_is_sent_again(
    survey_settings: Settings, engine: Engine, own_broker: Broker
) -> None:
    """The embedded broker keeps records in memory: one killed before the consumer read the
    answer loses it. Unwritten after resend_after_s, the answer is sent again."""
    s = survey_settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    own_broker.start()
    ensure_topics(s.kafka)
    with TestClient(create_app(s, engine=engine, sync_sheets=False, relay_surveys=False)) as client:
        assert client.post(minted("c2"), data={"rating": "2"}).status_code == 200
    relay = survey_outbox.Relay(engine, s, resend_after_s=1.0)
    assert relay.drain_once() == 1
    assert scalar(engine, "SELECT COUNT(*) FROM survey_outbox WHERE sent_at IS NOT NULL") == 1
    own_broker.stop()  # with the answer, unread
    own_broker.start()
    ensure_topics(s.kafka)
    thread = relay.start()
    try:
        with running_consumer(s, engine):
            wait_until(lambda: rating_of(engine, "c2") == (2, None, "default"), timeout_s=60,
                       what="the answer sent again")  # fmt: skip
            wait_until(lambda: waiting(engine) == 0, what="the outbox to empty")
    finally:
        relay.stop()
        thread.join(15)
    assert counted(engine) == (1, 1, 2)


def test_a_crash_between_send_and_mark_sends_again_and_counts_once(
    survey_settings: Settings, engine: Engine
) -> None:
    s = survey_settings
    conversation(engine, "c3")
    with TestClient(create_app(s, engine=engine, sync_sheets=False, relay_surveys=False)) as client:
        answered = client.post(minted("c3"), data={"rating": "5", "comment": "great"})
        assert answered.status_code == 200
    crashed = survey_outbox.Relay(engine, s)
    rows = crashed.due(utcnow())
    assert len(crashed.send(rows)) == 1  # acknowledged by Kafka, then the process died
    crashed._close_producer()
    assert scalar(engine, "SELECT COUNT(*) FROM survey_outbox WHERE sent_at IS NULL") == 1
    restarted = survey_outbox.Relay(engine, s)
    assert restarted.drain_once() == 1  # the same answer again
    with running_consumer(s, engine):
        wait_until(lambda: rating_of(engine, "c3") == (5, "great", "@help"), what="the answer")
        time.sleep(1.0)  # both copies consumed by now: a second count would show
        wait_until(lambda: (restarted.drain_once(), waiting(engine))[1] == 0,
                   what="the outbox to empty")  # fmt: skip
    restarted._close_producer()
    assert counted(engine) == (1, 1, 5)


def test_answering_again_replaces_the_waiting_answer(
    survey_settings: Settings, engine: Engine
) -> None:
    s = survey_settings
    with TestClient(create_app(s, engine=engine, sync_sheets=False, relay_surveys=False)) as client:
        path = minted("c4")
        assert client.post(path, data={"rating": "1", "comment": "slow"}).status_code == 200
        assert client.post(path, data={"rating": "3"}).status_code == 200
    assert waiting(engine) == 1
    relay = survey_outbox.Relay(engine, s)
    relay.drain_once()
    relay._close_producer()
    with running_consumer(s, engine):
        wait_until(lambda: rating_of(engine, "c4") == (3, None, "default"), what="the latest")
    assert counted(engine) == (1, 1, 3)
