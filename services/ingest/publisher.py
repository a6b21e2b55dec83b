"""Publishing validated events to Kafka: many events per record, answered once acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from kafka import KafkaProducer
from kafka.errors import KafkaError
from rapport.ingest.v1 import ingest_pb2

from services.common import tracing
from services.common.config import KafkaLink, Settings
from services.common.kafka import MAX_RECORD_BYTES, make_producer
from services.ingest import dead_letters
from services.ingest.backlog import Backlog, CommitWatch, admin_client
from services.ingest.events import Valid
from services.ingest.journal import UNKNOWN_CLUSTER, BrokerReplaced, Entry, Journal
from services.ingest.metrics import BACKLOG_REFUSED, BROKER_UNAVAILABLE, PRODUCE_SECONDS
from services.ingest.retention import CutoffReader

log = logging.getLogger(__name__)

MAX_EVENTS_PER_RECORD = 2_000


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time; the client should retry later."""

    retry_after_s = 5
    client_message = "Kafka is unavailable; nothing of this request was accepted. Retry later."


class BacklogFull(BrokerUnavailable):
    """Too many accepted events wait for the database: refuse more until the consumer catches up."""

    retry_after_s = 10

    def __init__(self, waiting: int, limit: int) -> None:
        super().__init__(f"{waiting} events wait for the database (limit {limit})")
        self.client_message = (
            f"Not accepting events for now: {waiting:,} accepted events are still waiting to be "
            f"written to the database (INGEST_MAX_BACKLOG_EVENTS is {limit:,}); the database "
            "is slow or unavailable. Nothing of this request was accepted. Retry later."
        )


class NotDurable(BrokerUnavailable):
    """The journal could not be written (disk full?): the records are not acknowledged."""

    client_message = (
        "Ingest could not write its journal (is the disk full?); nothing of this request was "
        "accepted. Retry later."
    )


@dataclass
class Pending:
    """A record handed to the producer: its acknowledgement, and what to journal once it comes."""

    future: Any
    topic: str
    value: bytes
    events: int
    sent_to: str | None = None  # the journal's broker when it was sent (None: no journal)
    meta: Any = None

    def entry(self) -> Entry:
        return Entry(self.topic, self.meta.partition, self.meta.offset, self.events, self.value)


def not_journaled(error: BaseException) -> BrokerUnavailable:
    """Why acknowledged records were not journaled, as the client is told: the broker was
    replaced under them (journal.BrokerReplaced), else the disk (NotDurable)."""
    if isinstance(error, BrokerReplaced):
        return BrokerUnavailable(f"the broker was replaced: {error}")
    return NotDurable(f"journal: {error}")


def records(
    events: Sequence[Valid], *, source: str, ingested_at_us: int
) -> Iterator[tuple[bytes, int]]:
    """Serialized InteractionBatch records of up to MAX_EVENTS_PER_RECORD events, each below the
    broker's record size limit (a batch that comes out larger is split in halves), with the
    number of events each holds."""
    for start in range(0, len(events), MAX_EVENTS_PER_RECORD):
        yield from _record(events[start : start + MAX_EVENTS_PER_RECORD], source, ingested_at_us)


def _record(
    events: Sequence[Valid], source: str, ingested_at_us: int
) -> Iterator[tuple[bytes, int]]:
    batch = ingest_pb2.InteractionBatch(ingested_at_us=ingested_at_us, source=source)
    add = batch.events.add  # built in place: appending a finished message would copy it
    for event in events:
        add(**event)
    value = batch.SerializeToString()
    if len(value) <= MAX_RECORD_BYTES or len(events) == 1:  # the field limits keep one
        yield value, len(events)  # event under 60 KB
        return
    half = len(events) // 2
    yield from _record(events[:half], source, ingested_at_us)
    yield from _record(events[half:], source, ingested_at_us)


def now_us() -> int:
    return time.time_ns() // 1000


class Publisher:
    """Owns one thread-safe KafkaProducer, created on first use and recreated after failures.

    Every acknowledged record is noted in the backlog (backlog.py) and, when a journal directory
    is set (the embedded broker keeps records only in memory), written to the journal before the
    acknowledgement is reported to the caller. `start()` runs the thread that follows the
    consumer's commits; without it the backlog only grows, so one-shot users skip the limit.
    """

    def __init__(
        self,
        kafka: KafkaLink,
        *,
        database_url: str,
        backlog_limit: int | None = None,
        journal_dir: Path | None = None,
        **producer_overrides: Any,
    ) -> None:
        self._kafka = kafka
        self._backlog_limit = backlog_limit
        self._overrides = producer_overrides
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        self.timeout_s = 15.0
        self.backlog = Backlog()
        self.max_backlog: int | None = None
        self._journal_dir = journal_dir
        self.journal: Journal | None = None
        self.watch: CommitWatch | None = None
        # What every path into Kafka checks events against (services/ingest/retention.py).
        self.cutoff = CutoffReader(database_url)

    @classmethod
    def of(cls, settings: Settings, *, journal_dir: Path | None = None) -> Publisher:
        """The publisher the settings describe: their broker and topics, their database's
        retention cut-off, their backlog limit."""
        return cls(
            settings.kafka,
            database_url=settings.database_url,
            backlog_limit=settings.ingest_max_backlog_events,
            journal_dir=journal_dir,
        )

    def start(self) -> None:
        """Follow the consumer's commits (and keep the journal, if any); replay what a lost
        broker held. With a journal, learns the broker's cluster id first when it can, so the
        first segment carries it; without one, nothing here waits for the broker."""
        if self._journal_dir is not None:
            cluster_id = UNKNOWN_CLUSTER  # the watcher rolls to the real id once it sees the broker
            with contextlib.suppress(KafkaError, OSError):
                cluster_id = current_cluster_id(self._kafka)
            self.journal = Journal(self._journal_dir, cluster_id)
            log.info("journal in %s (the broker keeps records only in memory)", self._journal_dir)
        self.max_backlog = self._backlog_limit
        self.watch = CommitWatch(
            lambda: admin_client(self._kafka),
            self._kafka.group,
            self.backlog,
            self.journal,
            self.republish,
            self._drop_producer,
        )
        self.watch.start()

    def _get(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = make_producer(self._kafka, **self._overrides)
                except KafkaError as exc:
                    raise BrokerUnavailable(f"Kafka is unreachable: {exc}") from exc
            return self._producer

    def _send_all(self, topic: str, values: Iterable[tuple[bytes, int]]) -> list[Pending]:
        """Hand records to the producer; traced, as one producer span whose context every
        record carries in its `traceparent` header (the consumer's batch span links to it)."""
        producer = self._get()
        with tracing.span(
            f"send {topic}",
            kind=tracing.Kind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
        ) as span:
            headers = tracing.headers()
            sent_to = self._journal_broker()
            try:
                pending = [
                    Pending(
                        producer.send(topic, value=value, headers=headers),
                        topic,
                        value,
                        events,
                        sent_to,
                    )
                    for value, events in values
                ]
            except KafkaError as exc:
                self._failed(exc)
            if span is not None:
                span.set_attribute("messaging.batch.message_count", len(pending))
                span.set_attribute("rapport.events", sum(p.events for p in pending))
            return pending

    def send_events(self, events: Sequence[Valid], *, source: str) -> list[Pending]:
        """Hand the events to the producer; wait() on the result for the acknowledgement.
        BacklogFull when too many accepted events still wait for the database."""
        if self.max_backlog is not None and self.backlog.events >= self.max_backlog:
            BACKLOG_REFUSED.inc(len(events))
            raise BacklogFull(self.backlog.events, self.max_backlog)
        values = records(events, source=source, ingested_at_us=now_us())
        return self._send_all(self._kafka.topic, values)

    def send_dead_letters(self, letters: Sequence[dict[str, Any]]) -> list[Pending]:
        """Rejected items with their reason, one JSON record each, on the dead-letter topic."""
        values = ((dead_letters.encode(letter), 0) for letter in letters)
        return self._send_all(self._kafka.dlq_topic, values)

    def republish(self, entries: Sequence[Entry]) -> None:
        """Records a replaced broker lost, published again as they were (and journaled anew)."""
        if entries:
            self.wait(self._send_all_raw(entries))

    def _send_all_raw(self, entries: Sequence[Entry]) -> list[Pending]:
        producer = self._get()
        sent_to = self._journal_broker()
        try:
            return [
                Pending(producer.send(e.topic, value=e.value), e.topic, e.value, e.events, sent_to)
                for e in entries
            ]
        except KafkaError as exc:
            self._failed(exc)

    def wait(self, pending: Sequence[Pending]) -> None:
        """Block until every record is acknowledged (and journaled); BrokerUnavailable otherwise."""
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        try:
            for p in pending:
                p.meta = p.future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            self._failed(exc)
        written = self._acknowledged(pending)
        try:
            written.result(timeout=max(1.0, deadline - time.monotonic()))
        except (BrokerReplaced, OSError, TimeoutError) as exc:
            raise not_journaled(exc) from exc
        PRODUCE_SECONDS.observe(time.perf_counter() - started)

    def _acknowledged(self, pending: Sequence[Pending]) -> Future[None]:
        """Note the acknowledged records in the backlog; journal them (resolves once on disk)."""
        entries = [p.entry() for p in pending]
        self.backlog.add(entries)
        if self.journal is None:
            done: Future[None] = Future()
            done.set_result(None)
            return done
        return self.journal.append(entries, sent_to=pending[0].sent_to if pending else None)

    def _journal_broker(self) -> str | None:
        """The broker the journal's current segment belongs to, noted with every record sent:
        an acknowledgement that comes after the journal moved to another broker may come from
        the one that is gone, and is refused (journal.BrokerReplaced)."""
        return self.journal.current.cluster_id if self.journal is not None else None

    def _failed(self, exc: BaseException) -> NoReturn:
        """Count, drop the producer (a restarted broker forgets its idempotence state), raise."""
        BROKER_UNAVAILABLE.inc()
        self._drop_producer()
        raise BrokerUnavailable(f"Kafka did not acknowledge: {exc}") from exc

    def _drop_producer(self) -> None:
        """The next send makes a new producer; unsent records fail their futures (so they are
        never acknowledged)."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError):
                producer.close(timeout=0)

    async def wait_async(self, pending: Sequence[Pending]) -> None:
        """Like wait(), without holding an event-loop thread while Kafka (or the disk) works.

        The last acknowledgement hands the records to the journal from the producer's own
        thread, and the journal's writer wakes the loop once they are on disk: one wake-up of a
        busy loop a request, not two (each costs a loop iteration and a wait for the GIL;
        profiled at 1,000 requests/s, the second one was a fifth of a request's time)."""
        if not pending:
            return
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        done: asyncio.Future[None] = loop.create_future()
        remaining = [len(pending)]

        def settle(exc: BaseException | None) -> None:
            if done.done():
                return
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

        def written(journaled: Future[None]) -> None:  # on the journal's (or producer's) thread
            error = journaled.exception()
            loop.call_soon_threadsafe(settle, not_journaled(error) if error else None)

        def acknowledged() -> None:  # on the producer's thread, after the last record's ack
            try:
                journaled = self._acknowledged(pending)
            except Exception as exc:  # raised in kafka-python's thread, it would only be logged
                loop.call_soon_threadsafe(settle, exc)
                return
            journaled.add_done_callback(written)

        def watch(p: Pending) -> None:
            def ok(meta: Any) -> None:
                p.meta = meta
                remaining[0] -= 1
                if remaining[0] == 0:
                    acknowledged()

            p.future.add_callback(ok)
            p.future.add_errback(lambda exc: loop.call_soon_threadsafe(settle, exc))

        for p in pending:
            watch(p)

        # A timer that fails the future, cancelled once it settles: the cheapest timeout there
        # is (wait_for makes a task, asyncio.timeout a cancellation scope; profiled per request).
        def expire() -> None:
            if remaining[0]:
                settle(TimeoutError(f"no acknowledgement in {self.timeout_s:g} s"))
            else:  # Kafka acknowledged; the disk did not finish
                settle(NotDurable(f"journal: not written in {self.timeout_s:g} s"))

        timer = loop.call_later(self.timeout_s, expire)
        try:
            await done
        except (KafkaError, TimeoutError) as exc:
            self._failed(exc)
        finally:
            timer.cancel()
        PRODUCE_SECONDS.observe(time.perf_counter() - started)

    def close(self, timeout_s: float = 30.0) -> None:
        if self.watch is not None:
            self.watch.stop()
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=timeout_s)
                self._producer = None
        if self.journal is not None:
            self.journal.close()


def current_cluster_id(kafka: KafkaLink) -> str:
    """The cluster id of the broker at KAFKA_BOOTSTRAP_SERVERS (each embedded one has its own)."""
    admin = admin_client(kafka)
    try:
        return str(admin.describe_cluster()["cluster_id"])
    finally:
        admin.close()
