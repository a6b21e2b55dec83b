"""The survey relay as a process of its own (`rapport surveys relay`, which `rapport up` runs
beside a moments service with SURVEYS_RELAY_IN_SERVICE=false): the page only keeps answers, the
relay sends them, through a broker that was down and a relay killed meanwhile, each counted
once; and the page's own reading of its form, which must read what Starlette's parser reads."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings
from services.common.kafka import ensure_topics
from services.moments.app import create_app
from services.moments.web import survey_page
from tests.conftest import Broker
from tests.ingest.helpers import running_consumer, scalar, wait_until
from tests.moments.test_survey_outbox import conversation, counted, own_broker, waiting
from tests.moments.test_surveys import SECRET, minted, rating_of

__all__ = ["own_broker"]  # a fixture of the outbox tests, used here too


@pytest.fixture
def page_only(settings: Settings) -> Settings:
    """A moments service that leaves relaying to a `rapport surveys relay`."""
    for limiter in (survey_page.PER_TOKEN, survey_page.PER_ADDRESS):
        limiter._hits.clear()
    return settings.model_copy(
        update={"rapport_survey_secret": SECRET, "moments_grpc_port": 0,
                "surveys_relay_in_service": False}
    )  # fmt: skip


def start_relay(s: Settings, db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": str(s.kafka_bootstrap_servers),
        "KAFKA_TOPIC": s.kafka_topic,
        "SURVEY_RELAY_METRICS_PORT": str(port),
    }
    return processes.spawn(processes.rapport_command("surveys", "relay"), env=env, log=log)


def metrics_page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def test_the_page_keeps_answers_and_the_relay_process_sends_them(
    page_only: Settings, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    s = page_only
    conversation(engine, "r1")
    with TestClient(create_app(s, engine=engine, sync_sheets=False)) as client:
        assert client.app.state.survey_relay is None  # type: ignore[attr-defined]
        page = client.post(minted("r1"), data={"rating": "5", "comment": "quick"})
        assert page.status_code == 200 and "Thank you!" in page.text
        time.sleep(1.5)  # an in-service relay would have sent it by now
        assert scalar(engine, "SELECT COUNT(*) FROM survey_outbox WHERE sent_at IS NULL") == 1
    port = processes.free_port()
    relay = start_relay(s, db_url, port, tmp_path / "relay.log")
    try:
        processes.wait_for_port(port, timeout_s=30)
        with running_consumer(s, engine):
            wait_until(lambda: rating_of(engine, "r1") == (5, "quick", "@help"), timeout_s=60,
                       what="the answer in the database")  # fmt: skip
            wait_until(lambda: waiting(engine) == 0, what="the outbox to empty")
        # Its own /metrics, where the backlog alert reads the survey answers waiting.
        wait_until(lambda: "rapport_moments_survey_backlog_answers 0.0" in metrics_page(port),
                   what="the relay's backlog gauge")  # fmt: skip
    finally:
        assert processes.stop(relay) == 0, (tmp_path / "relay.log").read_text()[-2000:]
    assert counted(engine) == (1, 1, 5)


def test_a_relay_killed_while_the_broker_is_down_loses_nothing(
    page_only: Settings, engine: Engine, db_url: str, own_broker: Broker, tmp_path: Path
) -> None:
    s = page_only.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    with TestClient(create_app(s, engine=engine, sync_sheets=False)) as client:
        for n, stars in ((1, "2"), (2, "4")):
            assert client.post(minted(f"k{n}"), data={"rating": stars}).status_code == 200
    first = start_relay(s, db_url, processes.free_port(), tmp_path / "first.log")
    try:
        wait_until(lambda: scalar(engine, "SELECT MIN(attempts) FROM survey_outbox") >= 1,
                   timeout_s=60, what="the relay to try and fail")  # fmt: skip
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert waiting(engine) == 2
    own_broker.start()
    ensure_topics(s.kafka)
    second = start_relay(s, db_url, processes.free_port(), tmp_path / "second.log")
    try:
        with running_consumer(s, engine):
            # Backed off by the first relay: the second sends once the wait is over (< 4 s).
            wait_until(lambda: rating_of(engine, "k2") == (4, None, "default"), timeout_s=60,
                       what="the answers in the database")  # fmt: skip
            wait_until(lambda: waiting(engine) == 0, timeout_s=30, what="the outbox to empty")
    finally:
        assert processes.stop(second) == 0
    assert counted(engine) == (2, 2, 6)
