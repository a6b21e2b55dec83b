"""The embedded broker keeps records only in memory: ingest's journal (services/ingest/journal.py)
keeps what it acknowledged, so a SIGKILLed broker or ingest loses nothing; the backlog limit
answers 503 while the database does not keep up, and accepts again once it has."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings
from services.common.kafka import ensure_topics
from services.ingest.app import create_app
from services.ingest.journal import (
    BrokerReplaced,
    Entry,
    Journal,
    encode,
    read_entries,
    trim_directory,
)
from services.ingest.publisher import BrokerUnavailable, NotDurable, Publisher
from services.ingest.service import submit
from tests.conftest import Broker
from tests.factories import event
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until
from tests.integration.conftest import SmallDisk
from tests.support.services import service_env


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "tansu.log")
    b.start()
    yield b
    b.stop()


def kill_broker(broker: Broker) -> None:
    """SIGKILL: the memory broker and every record it held are gone at once."""
    assert broker.proc is not None
    broker.proc.send_signal(signal.SIGKILL)
    broker.proc.wait()
    broker.proc = None


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT event_id FROM interaction_event"))]


# --- the file format -------------------------------------------------------------------------


def test_a_torn_frame_at_the_end_is_ignored_and_whole_ones_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "000000000001.c1.journal"
    entries = [Entry("t", p % 3, p, p + 1, f"value {p}".encode()) for p in range(5)]
    frames = b"".join(map(encode, entries))
    path.write_bytes(frames + encode(Entry("t", 0, 99, 1, b"torn"))[:-3])
    assert list(read_entries(path)) == entries
    damaged = bytearray(frames)
    damaged[-1] ^= 0xFF  # the last frame's value no longer matches its checksum
    path.write_bytes(bytes(damaged))
    assert list(read_entries(path)) == entries[:-1]


def test_segments_go_once_their_broker_committed_them(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "c1")
    journal.append([Entry("t", 0, 0, 10, b"a"), Entry("t", 1, 4, 10, b"b")]).result(5)
    journal.roll("c2")  # a new broker: the next segment is its own
    journal.append([Entry("t", 0, 0, 10, b"c")]).result(5)
    first = journal.older()[0]
    assert journal.trim("c1", {("t", 0): 1, ("t", 1): 4}) == 0  # offset 4 not committed yet
    assert journal.trim("c2", {("t", 0): 9, ("t", 1): 9}) == 0  # another broker's offsets
    assert journal.trim("c1", {("t", 0): 1, ("t", 1): 5}) == 1
    assert not first.path.exists()
    journal.close()
    assert trim_directory(tmp_path, "c2", {}) == (1, 1)  # c2's record is not committed
    assert trim_directory(tmp_path, "c2", {("t", 0): 1}) == (0, 0)
    assert list(tmp_path.iterdir()) == []


def test_records_sent_to_a_broker_the_journal_has_moved_past_are_refused(tmp_path: Path) -> None:
    """An acknowledgement that arrives after the journal rolled to a new broker may come from the
    old one, now gone; the new broker's segment is never published again, so journaling it there
    would lose it. Such a group is refused (the client retries), the others of the same group
    commit are written."""
    journal = Journal(tmp_path, "c1")
    journal.roll("c2")
    late = journal.append([Entry("t", 0, 7, 100, b"late")], sent_to="c1")
    fresh = journal.append([Entry("t", 0, 0, 10, b"fresh")], sent_to="c2")
    with pytest.raises(BrokerReplaced, match="c1"):
        late.result(5)
    fresh.result(5)
    assert journal.current.records == 1
    assert [e.value for e in read_entries(journal.current.path)] == [b"fresh"]
    journal.close()


def test_an_acknowledgement_that_crosses_a_broker_replacement_is_not_given(
    settings: Settings, tmp_path: Path
) -> None:
    """Through the publisher, both ways it waits: sent while the journal followed one broker,
    acknowledged after it moved to another (as the commit watcher does when a restarted broker
    answers with a new cluster id): 503, not 202."""
    import asyncio

    publisher = Publisher.of(settings, journal_dir=tmp_path / "journal")
    publisher.start()
    assert publisher.watch is not None and publisher.journal is not None
    publisher.watch.stop()  # the test moves the journal itself (the watcher would move it back)
    try:
        for wait in (publisher.wait, lambda p: asyncio.run(publisher.wait_async(p))):
            pending = submit(publisher, [event()], transport="rest", source="t").futures
            publisher.journal.roll(f"another-{len(publisher.journal.segments)}")
            with pytest.raises(BrokerUnavailable, match="the broker was replaced"):
                wait(pending)
        publisher.wait(
            submit(publisher, [event()], transport="rest", source="t").futures
        )  # sent after the roll: journaled as ever
        assert publisher.journal.current.records == 1
    finally:
        publisher.close()


# --- the broker killed -----------------------------------------------------------------------


def test_broker_sigkilled_while_a_client_streams_loses_no_acknowledged_event(
    own_broker: Broker, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """The consumer first keeps up, then falls behind (stopped), the broker dies mid-stream with
    acknowledged records only it held; a new broker starts; the stream goes on. Every event
    answered 202 is in the database once, and the journal empties as the consumer commits."""
    s = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    ensure_topics(s.kafka)
    journal_dir = tmp_path / "journal"
    publisher = Publisher.of(s, journal_dir=journal_dir)
    publisher.timeout_s = 3
    acknowledged: list[str] = []
    letters = 0  # each batch also carries one event that breaks a rule: a dead letter
    refused = 0
    stop = threading.Event()

    def stream() -> None:
        nonlocal refused, letters
        while not stop.is_set():
            batch = [event(count=1) for _ in range(50)]
            answer = client.post(
                "/v1/interactions", json=[*batch, event(kind="poke")], headers=AUTH
            )
            if answer.status_code == 202:
                acknowledged.extend(e["event_id"] for e in batch)
                letters += 1
            else:
                assert answer.status_code == 503, answer.text
                refused += 1
                time.sleep(0.2)

    with TestClient(create_app(s, publisher=publisher, engine=engine)) as client:
        streamer = threading.Thread(target=stream, daemon=True)
        with running_consumer(s, engine):
            streamer.start()
            wait_until(lambda: len(acknowledged) >= 1_000, what="a first part of the stream")
            wait_until(lambda: event_count(engine) >= 500, what="the consumer keeping up")
        # The consumer is gone: what ingest acknowledges now only the broker (and journal) hold.
        held = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= held + 1_000, what="records only the broker holds")
        kill_broker(own_broker)
        at_kill = len(acknowledged)
        own_broker.start()  # a new, empty broker (its own cluster id) on the same port
        ensure_topics(s.kafka)
        wait_until(lambda: len(acknowledged) >= at_kill + 500, timeout_s=60, what="ingest back")
        stop.set()
        streamer.join(30)
        assert at_kill - event_count(engine) >= 1_000  # the broker really took records with it
        with running_consumer(s, engine):
            wait_until(
                lambda: event_count(engine) >= len(acknowledged),
                timeout_s=90,
                what=lambda: f"acknowledged events ({event_count(engine)} of {len(acknowledged)})",
            )
            ids = stored_ids(engine)
            assert len(ids) == len(set(ids))  # once each
            assert set(acknowledged) <= set(ids)
            assert len(set(ids) - set(acknowledged)) <= 50 * refused  # only retried-later ones
            assert scalar(engine, "SELECT SUM(count) FROM rollup_daily") == len(ids)
            # Dead letters too: each once, although the new broker's offsets start at 0 again
            # and the journal published the old broker's letters a second time.
            wait_until(
                lambda: scalar(engine, "SELECT COUNT(*) FROM dead_letter") >= letters,
                timeout_s=30,
                what=lambda: (
                    f"dead letters ({scalar(engine, 'SELECT COUNT(*) FROM dead_letter')} of "
                    f"{letters})"
                ),
            )
            time.sleep(1)  # a letter stored twice would show now
            stored = scalar(engine, "SELECT COUNT(*) FROM dead_letter")
            assert letters <= stored <= letters + refused  # + those of requests answered 503
            wait_until(
                lambda: publisher.journal.pending_records() == 0,
                timeout_s=30,  # type: ignore[union-attr]
                what="the journal to empty as the consumer commits",
            )
    assert refused >= 1  # the stream did meet the dead broker


# --- the backlog -----------------------------------------------------------------------------


def test_backlog_limit_answers_503_with_the_reason_and_accepts_once_the_consumer_caught_up(
    settings: Settings, engine: Engine
) -> None:
    s = settings.model_copy(update={"ingest_max_backlog_events": 500})
    with TestClient(create_app(s, engine=engine)) as client:
        for _ in range(2):  # 600 acknowledged, none written: over the limit
            assert (
                client.post(
                    "/v1/interactions", json=[event() for _ in range(300)], headers=AUTH
                ).status_code
                == 202
            )
        wait_until(lambda: client.get("/readyz").status_code == 503, what="backlog in /readyz")
        ready = client.get("/readyz").json()
        assert ready["backlog"].startswith("full: 600 events"), ready
        assert "backlog" in ready["down"]
        refused = client.post("/v1/interactions", json=[event()], headers=AUTH)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert "600 accepted events are still waiting" in refused.json()["detail"]
        assert "INGEST_MAX_BACKLOG_EVENTS is 500" in refused.json()["detail"]
        with running_consumer(s, engine):
            wait_until(
                lambda: (
                    client.post("/v1/interactions", json=[event()], headers=AUTH).status_code == 202
                ),
                timeout_s=60,
                what="ingest accepting again once the consumer committed",
            )
            assert event_count(engine) >= 600
            assert client.get("/readyz").json()["backlog"] == "ok"


def test_what_was_acknowledged_before_the_first_look_at_the_broker_stays_in_the_backlog(
    settings: Settings,
) -> None:
    """The commit watcher's first look learns the broker's id; it must not take that for a
    replaced broker and forget the events acknowledged so far (the limit would then let more
    in than the database has room for)."""
    publisher = Publisher.of(settings)
    publisher.wait(
        submit(publisher, [event() for _ in range(30)], transport="rest", source="t").futures
    )
    assert publisher.backlog.events == 30
    publisher.start()
    try:
        assert publisher.watch is not None
        wait_until(lambda: publisher.watch.cluster_id is not None, what="the first look")  # type: ignore[union-attr]
        assert publisher.backlog.events == 30
    finally:
        publisher.close()


def test_a_full_disk_answers_503_and_nothing_is_acknowledged(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """The journal's file is pointed at /dev/full (every write: ENOSPC, as on a full disk): the
    request is answered 503 with the reason, never 202; once the disk has room, 202 again."""
    s = settings.model_copy(update={"ingest_journal_dir": str(tmp_path / "journal")})
    with TestClient(create_app(s, engine=engine)) as client:
        publisher: Publisher = client.app.state.publisher  # type: ignore[attr-defined]
        assert client.post("/v1/interactions", json=[event()], headers=AUTH).status_code == 202
        journal = publisher.journal
        assert journal is not None
        room = os.dup(journal._file)
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, journal._file)
        try:
            refused = client.post("/v1/interactions", json=[event()], headers=AUTH)
            assert refused.status_code == 503, refused.text
            assert "could not write its journal" in refused.json()["detail"]
            with pytest.raises(NotDurable):  # the blocking path (gRPC, the poller) likewise
                publisher.wait(
                    submit(publisher, [event()], transport="grpc", source="test").futures
                )
        finally:
            os.dup2(room, journal._file)
            os.close(full)
            os.close(room)
        assert client.post("/v1/interactions", json=[event()], headers=AUTH).status_code == 202


# --- ingest killed ---------------------------------------------------------------------------


def ingest_process(s: Settings, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = service_env(s, INGEST_HTTP_PORT=str(port), INGEST_JOURNAL_DIR=str(tmp_path / "journal"))
    proc = processes.spawn(
        processes.rapport_command("ingest"), env=env, log=tmp_path / "ingest.log"
    )
    processes.wait_for_port(port)
    return proc


def post(port: int, events: list[dict[str, object]]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/interactions",
        data=orjson.dumps(events),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # the connection died with the process: not acknowledged


def test_ingest_then_broker_sigkilled_mid_stream_lose_nothing_acknowledged(
    own_broker: Broker, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """Ingest dies mid-request (SIGKILL), then the broker does before any consumer read the
    records; a new broker and a new ingest start: the new ingest publishes its journal again."""
    s = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    ensure_topics(s.kafka)
    port = processes.free_port()
    ingest = ingest_process(s, tmp_path, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            batch = [event(count=1) for _ in range(100)]
            if post(port, batch) == 202:
                acknowledged.extend(e["event_id"] for e in batch)

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    try:
        wait_until(lambda: len(acknowledged) >= 2_000, what="the stream to get going")
        ingest.send_signal(signal.SIGKILL)  # mid-request, as like as not
        ingest.wait()
        stop.set()
        streamer.join(30)
        kill_broker(own_broker)
        own_broker.start()
        ensure_topics(s.kafka)
        ingest = ingest_process(s, tmp_path, port)
        with running_consumer(s, engine):
            wait_until(
                lambda: event_count(engine) >= len(acknowledged),
                timeout_s=90,
                what=lambda: f"acknowledged events ({event_count(engine)} of {len(acknowledged)})",
            )
            ids = stored_ids(engine)
            assert len(ids) == len(set(ids))
            assert set(acknowledged) <= set(ids)
            assert len(ids) - len(acknowledged) <= 100  # at most the request cut short
    finally:
        processes.stop(ingest)
    log = (tmp_path / "ingest.log").read_text()
    assert "publishing" in log and "again" in log, log[-2000:]


def test_a_write_cut_short_by_a_filling_disk_acknowledges_nothing_and_hides_nothing(
    disk: SmallDisk,
) -> None:
    """On a real small file system with one page left, a group of frames larger than the page is
    written in part (os.write returns fewer bytes): the group is refused, its part is taken back,
    and what is written once there is room again reads back whole."""
    journal = Journal(disk.path / "journal", "cluster-a")
    try:
        disk.fill()
        with open(disk.filler, "r+b") as filler:  # leave exactly one page free
            filler.truncate(os.fstat(filler.fileno()).st_size - 4096)
        group = [Entry("t", 0, offset, 1, b"v" * 2000) for offset in range(5)]
        with pytest.raises(OSError, match="No space left"):
            journal.append(group).result(timeout=10)
        assert journal.current.records == 0
        disk.free()
        later = [Entry("t", 0, offset, 1, b"w" * 100) for offset in range(5, 8)]
        journal.append(later).result(timeout=10)
        assert [e.offset for e in read_entries(journal.current.path)] == [5, 6, 7]
    finally:
        journal.close()
