"""What ingest has answered for and the consumer has not yet written: the backlog, and the
watcher that follows the consumer's commits to shrink it and to trim the journal.

Every acknowledged record is noted with its partition, offset and event count. Once a second a
thread reads the consumer group's committed offsets (the consumer commits only after the
database holds the records) and the broker's cluster id; what is committed leaves the backlog.
Past INGEST_MAX_BACKLOG_EVENTS, ingest refuses new events with 503 (the database is not keeping
up, or is down) rather than growing the broker's memory without bound. With a journal
(journal.py), the same thread deletes committed segments and, when the broker was replaced (a
new cluster id), publishes the old broker's records again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.common.config import KafkaLink
from services.common.kafka import make_admin
from services.ingest.journal import UNKNOWN_CLUSTER, Entry, Journal, read_entries, safe_id
from services.ingest.metrics import BACKLOG_EVENTS, JOURNAL_RECORDS, JOURNAL_REPLAYED

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]
CHECK_EVERY_S = 1.0


class _Partition:
    """Offsets and event counts of one partition's acknowledged records, oldest first."""

    def __init__(self) -> None:
        self.offsets = array("q")
        self.events = array("q")
        self.head = 0

    def add(self, offset: int, events: int) -> None:
        self.offsets.append(offset)
        self.events.append(events)

    def commit(self, committed: int) -> int:
        """Forget records below the committed offset; the events they held."""
        gone = 0
        while self.head < len(self.offsets) and self.offsets[self.head] < committed:
            gone += self.events[self.head]
            self.head += 1
        if self.head > 4096 and self.head * 2 > len(self.offsets):  # compact now and then
            del self.offsets[: self.head]
            del self.events[: self.head]
            self.head = 0
        return gone


class Backlog:
    """Events acknowledged by this process and not yet committed by the consumer group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: dict[TopicPartitionKey, _Partition] = {}
        self.events = 0

    def add(self, entries: Sequence[Entry]) -> None:
        with self._lock:
            for entry in entries:
                if entry.events:
                    key = (entry.topic, entry.partition)
                    part = self._partitions.get(key) or self._partitions.setdefault(
                        key, _Partition()
                    )
                    part.add(entry.offset, entry.events)
                    self.events += entry.events

    def commit(self, committed: Mapping[TopicPartitionKey, int]) -> None:
        with self._lock:
            for key, part in self._partitions.items():
                if key in committed:
                    self.events -= part.commit(committed[key])

    def reset(self) -> None:
        """The broker was replaced: its offsets mean nothing any more (a replay re-adds)."""
        with self._lock:
            self._partitions.clear()
            self.events = 0


@dataclass
class BrokerView:
    cluster_id: str
    committed: dict[TopicPartitionKey, int]


def admin_client(kafka: KafkaLink) -> KafkaAdminClient:
    """The admin client that reads the broker's cluster id and the group's commits."""
    return make_admin(kafka, client_id="rapport-ingest-commits", request_timeout_ms=5_000)


def look(admin: KafkaAdminClient, group: str) -> BrokerView:
    """The broker's cluster id and the group's committed offsets."""
    cluster_id = str(admin.describe_cluster()["cluster_id"])
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    committed = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
    return BrokerView(cluster_id, {k: v for k, v in committed.items() if v >= 0})


Republish = Callable[[Sequence[Entry]], None]


class CommitWatch:
    """The once-a-second thread: commits shrink the backlog and trim the journal; a replaced
    broker gets the old one's records again (through `republish`, which journals them anew)."""

    def __init__(
        self,
        admin: Callable[[], KafkaAdminClient],
        group: str,
        backlog: Backlog,
        journal: Journal | None,
        republish: Republish,
        on_replaced: Callable[[], None] = lambda: None,
    ) -> None:
        self._connect = admin  # a new admin client (after the broker went away, another one)
        self._group = group  # the consumer group whose commits shrink the backlog
        self.backlog = backlog
        self.journal = journal
        self._republish = republish
        self._on_replaced = on_replaced
        self.cluster_id: str | None = journal.current.cluster_id if journal else None
        self.replaying = 0  # records still to publish again (for /readyz)
        self.last_error: str | None = None
        self._admin: KafkaAdminClient | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rapport-commits", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._admin is not None:
            with contextlib.suppress(KafkaError):
                self._admin.close()

    def _run(self) -> None:
        while True:
            try:
                self.check()
                self.last_error = None
            except Exception as exc:  # the broker is down or mid-restart: try again next round
                if self.last_error is None:
                    log.warning("following the consumer's commits failed (retrying): %s", exc)
                self.last_error = str(exc)
                self._drop_admin()
            if self._stop.wait(CHECK_EVERY_S):
                return

    def _drop_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(KafkaError):
                admin.close()

    def check(self) -> None:
        """One round: look at the broker, follow its commits, replay what a lost broker held."""
        if self._admin is None:
            self._admin = self._connect()
        view = look(self._admin, self._group)
        if view.cluster_id != self.cluster_id:
            # The first look (no id yet, or unknown: the broker was down at start) learns the id
            # of the broker that acknowledged what the backlog holds: nothing to forget.
            if self.cluster_id not in (None, UNKNOWN_CLUSTER):
                log.warning(
                    "the broker was replaced (cluster %s -> %s): publishing again what the old "
                    "one held and the database may not have",
                    self.cluster_id,
                    view.cluster_id,
                )
                self._on_replaced()  # a producer of the old broker would wait out its timeout
                self.backlog.reset()
            self.cluster_id = view.cluster_id
        self.backlog.commit(view.committed)
        BACKLOG_EVENTS.set(self.backlog.events)
        if self.journal is None:
            return
        self.journal.roll(view.cluster_id)
        self.journal.trim(view.cluster_id, view.committed)
        self._replay(view.cluster_id)
        JOURNAL_RECORDS.set(self.journal.pending_records())

    def _replay(self, cluster_id: str) -> None:
        """Publish again every record journaled against another broker, segment by segment."""
        assert self.journal is not None
        stale = [s for s in self.journal.older() if s.cluster_id != safe_id(cluster_id)]
        self.replaying = sum(s.records for s in stale)
        for segment in stale:
            log.info(
                "journal: publishing %d records of %s again", segment.records, segment.path.name
            )
            chunk: list[Entry] = []
            for entry in read_entries(segment.path):
                chunk.append(entry)
                if len(chunk) >= 500:
                    self._republished(chunk)
                    chunk = []
            self._republished(chunk)
            self.journal.drop(segment)
        self.replaying = 0

    def _republished(self, chunk: list[Entry]) -> None:
        self._republish(chunk)
        self.replaying -= len(chunk)
        JOURNAL_REPLAYED.inc(len(chunk))
