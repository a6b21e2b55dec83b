"""`rapport consumer`: Kafka -> database. Offsets are committed only after the database commits."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from opentelemetry.trace import Span
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.common import tracing
from services.common.config import Settings
from services.common.kafka import make_consumer, make_producer
from services.domain.vocabulary import CONVERSATION_KIND_NAMES, Kind, Network
from services.ingest import consumer_metrics as metrics
from services.ingest import dead_letters, progress
from services.ingest.rows import (
    CONVERSATION,
    ID,
    KIND,
    NETWORK,
    OCCURRED,
    Incoming,
    RowBatch,
    Stamps,
    batch_rows,
    build_rows,
    prepare,
)
from services.ingest.sink import WriteStats, write

log = logging.getLogger(__name__)
NETWORKS = frozenset(n.value for n in Network)
KINDS = frozenset(k.value for k in Kind)


@dataclass(frozen=True)
class BatchPolicy:
    """Write to the database when either limit is reached, whichever comes first."""

    max_events: int = 20_000
    max_seconds: float = 0.5


@dataclass
class Decoded:
    batches: list[ingest_pb2.InteractionBatch]
    dead_letters: list[dict[str, Any]]
    events: int
    rows: list[list[Incoming]] = field(default_factory=list)  # each good record's rows


def decode(records: list[Any], stamp: Stamps | None = None) -> Decoded:
    """Parse records and turn their events into rows, once; a record that is not a valid
    InteractionBatch becomes a dead letter. `stamp`: the database's form of instants."""
    stamp = stamp or Stamps("postgresql")
    out = Decoded([], [], 0)
    for record in records:
        rows: list[Incoming] = []
        try:
            batch = ingest_pb2.InteractionBatch.FromString(record.value or b"")
            rows = batch_rows(batch, stamp)
            # A NUL in any text field puts a zero byte in the record; most records have none.
            problem = _check(batch, rows, maybe_nul=b"\x00" in (record.value or b""))
        except DecodeError as exc:
            batch, problem = None, f"not an InteractionBatch: {exc}"
        if batch is None or problem:
            reason = "undecodable" if batch is None else "invalid_event"
            out.dead_letters.append(
                dead_letters.letter(
                    source="consumer",
                    reason=reason,
                    error=str(problem),
                    raw=record.value or b"",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                )
            )
            continue
        out.batches.append(batch)
        out.rows.append(rows)
        out.events += len(rows)
    return out


def _check(
    batch: ingest_pb2.InteractionBatch, rows: list[Incoming], *, maybe_nul: bool = True
) -> str | None:
    """Records come from our own producers (already validated); this cheap check only keeps a
    foreign writer's record from poisoning the tables. It reads the rows built from the record
    (plain tuples, cheaper to read than protobuf fields; occurred_at None when unset)."""
    if batch.ingested_at_us <= 0:
        return "ingested_at_us missing"
    networks, kinds, messages = NETWORKS, KINDS, CONVERSATION_KIND_NAMES
    for index, (row, _) in enumerate(rows):
        if not row[ID] or row[OCCURRED] is None:
            return f"event {index}: event_id and occurred_at are required"
        network, kind = row[NETWORK], row[KIND]
        if network not in networks or kind not in kinds:
            return f"event {index}: unknown network {network!r} or kind {kind!r}"
        if kind in messages and not row[CONVERSATION]:
            return f"event {index}: conversation_id is required for {kind}"
        if maybe_nul and _has_nul(batch.events[index]):
            return f"event {index}: NUL character in a text field (PostgreSQL cannot store it)"
    return None


def _has_nul(event: ingest_pb2.Interaction) -> bool:
    text = f"{event.event_id}{event.account}{event.actor}{event.conversation_id}{event.post_id}"
    if "\x00" in text or "\x00" in event.url:
        return True
    return any("\x00" in key or "\x00" in value for key, value in event.attributes.items())


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions go, finish the write in flight and commit it (so the next owner does not
    write it again); after each rebalance, say in the log which partitions this process owns."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    def on_partitions_revoked(self, revoked: Any) -> None:
        metrics.ASSIGNED.set(0)
        self._consumer.finish_quietly()
        if revoked:
            log.info("partitions revoked: %s", _names(revoked))

    def on_partitions_lost(self, lost: Any) -> None:
        """The group moved on without us (the broker or coordinator went away): nothing can be
        committed any more, so only let the write in flight settle; its records are read again
        by whoever owns them next (writes are idempotent). Committing here, as a revoke does,
        would block kafka-python's IO thread and fail."""
        metrics.ASSIGNED.set(0)
        self._consumer.abandon_quietly()
        if lost:
            log.warning("partitions lost: %s", _names(lost))

    def on_partitions_assigned(self, assigned: Any) -> None:
        metrics.ASSIGNED.set(len(assigned))
        log.info("partitions assigned: %s", _names(assigned) or "none")


def _names(partitions: Any) -> str:
    return ", ".join(str(tp.partition) for tp in sorted(partitions))


@dataclass
class _Write:
    """A batch in the writer thread: its records, for the offsets to commit or to rewind to."""

    records: list[Any]
    events: int
    future: Future[WriteStats]
    span: Span | None = None  # the batch's consumer span, when tracing: ends once committed

    def end(self, error: BaseException | None = None) -> None:
        span, self.span = self.span, None
        if span is not None:
            if error is not None:
                span.record_exception(error)
                span.set_status(tracing.ERROR)
            span.end()


class Consumer:
    """Kafka -> database in named steps, as arroyo composes its strategies:

    1. fetch: poll records until the batch policy says write (`_fetch`);
    2. prepare: decode them, dead-letter what cannot be written, build the rows (`_prepare`);
    3. write and commit: one database transaction, then the offsets (`_start_write`, `_write`
       in the writer thread, `_finish` to commit).
    Two batches are in hand at once: while one is written (SQLite and psycopg release the GIL
    while the database works), the next is fetched and prepared. Offsets are committed only
    once their batch is in the database; a failed step rewinds and retries with backoff.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        policy: BatchPolicy | None = None,
        **consumer_overrides: Any,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._policy = policy or BatchPolicy(
            settings.consumer_batch_max_events, settings.consumer_batch_max_seconds
        )
        self._consumer_overrides = consumer_overrides
        self.stop_event = threading.Event()
        self.committed_events = 0
        self._kafka: KafkaConsumer | None = None
        self._dlq: KafkaProducer | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="rapport-db-writer")
        self._in_flight: _Write | None = None
        self._high_water: dict[int, int] = {}  # interactions partition -> end, when last looked
        self._positions: dict[int, int] = {}
        self._last_report = 0.0

    def run(self) -> None:
        self._kafka = make_consumer(self._settings.kafka, **self._consumer_overrides)
        # The dead-letter topic too: its records are stored (table dead_letter) for the reports'
        # completeness line, in the same transactions and with the same commit rule.
        topics = [self._settings.kafka_topic, self._settings.kafka_dlq_topic]
        self._kafka.subscribe(topics, listener=_Rebalance(self))
        log.info("consuming %s as group %s", ", ".join(topics), self._settings.kafka_consumer_group)
        backoff = 0.5
        try:
            while not self.stop_event.is_set():
                records = self._fetch()
                try:
                    prepared = self._prepare(records) if records else self._heartbeat()
                    self._finish()
                except (SQLAlchemyError, KafkaError, OSError) as exc:
                    metrics.DB_ERRORS.inc()
                    log.warning(
                        "batch failed, retrying in %.1fs (offsets not committed): %s", backoff, exc
                    )
                    self._rewind(self._abandon() + records)
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                if prepared is not None:
                    self._start_write(records, *prepared)
        finally:
            self.finish_quietly()
            self._writer.shutdown()
            self._kafka.close(autocommit=False)
            if self._dlq is not None:
                self._dlq.close(timeout=10)

    def assignment(self) -> set[TopicPartition]:
        """Partitions this consumer owns right now (empty before the group is joined)."""
        return set(self._kafka.assignment()) if self._kafka is not None else set()

    def _fetch(self) -> list[Any]:
        """Poll until the batch policy says write (size or age), or nothing more comes."""
        assert self._kafka is not None
        records: list[Any] = []
        events = 0
        deadline = time.monotonic() + self._policy.max_seconds
        while not self.stop_event.is_set():
            timeout_ms = max(0, int((deadline - time.monotonic()) * 1000))
            polled = self._kafka.poll(timeout_ms=timeout_ms if records else 500, max_records=500)
            for partition_records in polled.values():
                records += partition_records
                for record in partition_records:
                    # A record holds up to a few thousand events; its size approximates them.
                    events += max(1, len(record.value or b"") // 120)
            if events >= self._policy.max_events or (records and time.monotonic() >= deadline):
                break
            if not records and not polled:
                break
        self._update_lag()
        return records

    def _prepare(self, records: list[Any]) -> tuple[RowBatch, int]:
        """Decode, dead-letter what cannot be written, and build the rows (no database yet)."""
        metrics.RECORDS.inc(len(records))
        dlq_topic = self._settings.kafka_dlq_topic
        interactions = [r for r in records if r.topic != dlq_topic]
        stamp = Stamps(self._engine.dialect.name)
        decoded = decode(interactions, stamp)
        if decoded.dead_letters:
            self._dead_letter(decoded.dead_letters)
        batch = prepare(decoded.rows, stamp, self._settings.timezone)
        if len(interactions) < len(records):
            batch.dead_letters = [
                dead_letters.stored_row(r) for r in records if r.topic == dlq_topic
            ]
        self._report_progress(batch, interactions)
        return batch, decoded.events

    def _heartbeat(self) -> tuple[RowBatch, int] | None:
        """Every few idle seconds, progress rows saying how far this consumer is."""
        if not self._positions or time.monotonic() - self._last_report < progress.HEARTBEAT_S:
            return None
        batch = build_rows([], self._engine.dialect.name, self._settings.timezone)
        self._report_progress(batch, [])
        return batch, 0

    def _report_progress(self, batch: RowBatch, interactions: list[Any]) -> None:
        """Progress rows for this batch's transaction (written with its events, or alone)."""
        batch.progress = progress.rows(
            self._settings.kafka_consumer_group, interactions, self._high_water, self._positions
        )
        self._last_report = time.monotonic()

    def _start_write(self, records: list[Any], batch: RowBatch, events: int) -> None:
        span = tracing.start(
            f"process {self._settings.kafka_topic}",
            kind=tracing.Kind.CONSUMER,
            links=tracing.record_links(records),  # to the producing spans of what it read
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self._settings.kafka_topic,
                "messaging.consumer.group.name": self._settings.kafka_consumer_group,
                "messaging.batch.message_count": len(records),
                "rapport.events": events,
            },
        )
        future = self._writer.submit(self._write, batch, events, span)
        self._in_flight = _Write(records, events, future, span)

    def _write(self, batch: RowBatch, events: int, parent: Span | None = None) -> WriteStats:
        started = time.perf_counter()
        with tracing.span(
            "write batch",
            kind=tracing.Kind.CLIENT,
            parent=parent,
            attributes={"db.system.name": self._engine.dialect.name, "rapport.events": events},
        ):
            stats = write(self._engine, batch).stats
        metrics.DB_WRITE_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_EVENTS.observe(events)
        return stats

    def _finish(self) -> None:
        """Wait for the write in flight and commit its offsets; its error is raised here."""
        write, self._in_flight = self._in_flight, None
        if write is None:
            return
        try:
            self._count(write.future.result())
        except BaseException as exc:
            self._in_flight = write  # for _abandon, which rewinds to it
            write.end(exc)
            raise
        try:
            self._commit(write.records)
        except BaseException as exc:
            write.end(exc)
            raise
        write.end()
        self.committed_events += write.events

    def finish_quietly(self) -> None:
        """_finish, logging a failure: the uncommitted batch is read again by whoever owns it."""
        try:
            self._finish()
        except (SQLAlchemyError, KafkaError, OSError) as exc:
            metrics.DB_ERRORS.inc()
            log.warning("batch failed, left for a re-read (offsets not committed): %s", exc)
            self._abandon()

    def abandon_quietly(self) -> None:
        """Let the write in flight finish (or fail) and forget it, without committing."""
        try:
            self._abandon()
        except (SQLAlchemyError, KafkaError, OSError) as exc:
            log.warning("batch left for a re-read: %s", exc)

    def _abandon(self) -> list[Any]:
        """Forget the write in flight once it has settled; its records, to rewind to."""
        write, self._in_flight = self._in_flight, None
        if write is None:
            return []
        wait([write.future])
        if write.span is not None:
            write.end(write.future.exception() or RuntimeError("left for a re-read"))
        return write.records

    def _commit(self, records: list[Any]) -> None:
        assert self._kafka is not None
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp not in offsets or offsets[tp].offset <= record.offset:
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if not offsets:
            return
        try:
            self._kafka.commit(offsets)
        except CommitFailedError as exc:
            # The partitions moved to another consumer, which re-reads them; writes are idempotent.
            log.warning("offset commit refused after a rebalance: %s", exc)

    def _count(self, stats: WriteStats) -> None:
        for result in ("inserted", "replaced", "duplicate", "stale"):
            value = getattr(stats, result)
            if value:
                metrics.EVENTS_WRITTEN.labels(result).inc(value)
        if stats.newest_ingested_us:
            metrics.NEWEST_EVENT.set(stats.newest_ingested_us / 1e6)

    def _dead_letter(self, letters: list[dict[str, Any]]) -> None:
        if self._dlq is None:
            self._dlq = make_producer(self._settings.kafka, client_id="rapport-consumer-dlq")
        futures = [
            self._dlq.send(self._settings.kafka_dlq_topic, value=dead_letters.encode(letter))
            for letter in letters
        ]
        for future in futures:
            future.get(timeout=30)
        for letter in letters:
            metrics.DLQ_RECORDS.labels(letter["reason"]).inc()
            log.error(
                "record %s/%s sent to the DLQ: %s",
                letter["partition"],
                letter["offset"],
                letter["error"],
            )

    def _rewind(self, records: list[Any]) -> None:
        """Seek back to the first unwritten record of each partition so the batch is re-read."""
        assert self._kafka is not None
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self._kafka.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self._kafka.seek(tp, offset)

    def _update_lag(self) -> None:
        assert self._kafka is not None
        self._positions = {}
        for tp in self._kafka.assignment():
            if tp.topic != self._settings.kafka_topic:
                continue
            high = self._kafka.highwater(tp)
            if high is None:
                continue
            try:
                position = self._kafka.position(tp, timeout_ms=100)
            except KafkaError:
                continue
            if position is not None:
                metrics.LAG.labels(str(tp.partition)).set(max(0, high - position))
                self._high_water[tp.partition] = high
                self._positions[tp.partition] = position
