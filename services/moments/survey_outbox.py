"""A survey answer from acceptance to Kafka (docs/using.md#customer-satisfaction-surveys): kept
in the survey outbox when the page accepts it (concurrent answers in one transaction: Keeper),
relayed as a `rating` event with its acceptance time as its version, marked sent on Kafka's
acknowledgement and forgotten once the consumer wrote it, sent again when a broker lost it
(Relay); what a link answered before (earlier) and how much waits (status)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from services.common.clock import utcnow
from services.common.config import Settings
from services.common.db import write_guard
from services.domain.vocabulary import RATING_SCALE
from services.moments import metrics
from services.moments.surveys import CONVERSATIONS, EVENTS, OUTBOX, PREFIX, Survey

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the Kafka client is loaded on the first answer: `rapport` starts faster
    from kafka import KafkaProducer


class Unavailable(Exception):
    """Kafka did not acknowledge an answer."""


@dataclass(frozen=True)
class Answer:
    """A customer's answer to a survey, as the page accepted it."""

    survey: Survey
    stars: int
    comment: str
    at: dt.datetime  # aware: when the page accepted it

    def event(self, account: str | None) -> ingest_pb2.Interaction:
        """The answer as the event ingest would have accepted: on the conversation's own
        account (a rating alone would otherwise add an account named "default" to the
        reports' filters)."""
        low, high = RATING_SCALE
        if not low <= self.stars <= high:
            raise ValueError(f"rating: {low} to {high}")
        event = ingest_pb2.Interaction(
            event_id=self.survey.event_id,
            network=self.survey.network,
            kind="rating",
            count=self.stars,
            account=account or "default",
            conversation_id=self.survey.conversation_id,
        )
        event.occurred_at.FromDatetime(self.at.astimezone(dt.UTC).replace(tzinfo=None))
        if self.comment:
            event.attributes["comment"] = self.comment
        return event


# Built once: the keeper runs these for every group of answers, and a statement made anew
# each time (its values inline) was compiled anew each time, in the GIL the page waits for.
_C = CONVERSATIONS.c
ACCOUNTS = select(_C.network, _C.conversation_id, _C.account).where(
    tuple_(_C.network, _C.conversation_id).in_(bindparam("keys", expanding=True))
)
_ROW = ("record", "accepted_at_us", "enqueued_at", "attempts", "next_attempt_at", "sent_at",
        "last_error")  # fmt: skip


def _upsert(insert: Any) -> Any:
    statement = insert(OUTBOX)
    return statement.on_conflict_do_update(
        index_elements=[OUTBOX.c.event_id],
        set_={name: statement.excluded[name] for name in _ROW},
    )


UPSERTS = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


def keep(engine: Engine, answers: Sequence[Answer]) -> None:
    """Keep answers in the survey outbox, in one transaction, each replacing an earlier answer
    of its conversation still waiting there; once this returns they survive any outage (the
    relay sends them on). An answer's version is its `at`, so the latest answer wins wherever
    it meets an earlier one."""
    latest = {answer.survey.event_id: answer for answer in answers}  # one row per conversation
    keys = sorted({(a.survey.network, a.survey.conversation_id) for a in latest.values()})
    with engine.connect() as conn:
        accounts = {
            (network, conversation): account
            for network, conversation, account in conn.execute(ACCOUNTS, {"keys": keys})
        }
    rows = []
    for answer in latest.values():
        survey = answer.survey
        event = answer.event(accounts.get((survey.network, survey.conversation_id)))
        now = answer.at.astimezone(dt.UTC).replace(tzinfo=None)
        accepted_at_us = int(answer.at.timestamp() * 1_000_000)
        record = ingest_pb2.InteractionBatch(
            events=[event], ingested_at_us=accepted_at_us, source=PREFIX
        )
        rows.append(
            {
                "event_id": survey.event_id,
                "record": record.SerializeToString(),
                "accepted_at_us": accepted_at_us,
                "enqueued_at": now,
                "attempts": 0,
                "next_attempt_at": now,
                "sent_at": None,
                "last_error": None,
            }
        )
    if engine.dialect.name == "sqlite":
        _write_sqlite(engine, rows)
    else:
        with engine.begin() as conn:
            conn.execute(UPSERTS[engine.dialect.name], rows)  # one statement run for all


# SQLite's own wait for a busy database sleeps in growing steps, 100 ms each after the first
# quarter second: answers behind a long transaction of the consumer's waited up to 100 ms more
# once it had ended. The keeper asks for the lock again every few milliseconds instead, as
# long as the busy timeout would have waited.
SQLITE_RETRY_S = 0.002


def _write_sqlite(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with write_guard(engine), engine.connect().execution_options(immediate=True) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None  # a connection from the pool, open
        waits_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        deadline = time.monotonic() + waits_ms / 1000
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    with conn.begin():  # BEGIN IMMEDIATE: the write lock, or "locked" at once
                        conn.execute(UPSERTS["sqlite"], rows)
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                        raise
                time.sleep(SQLITE_RETRY_S)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(waits_ms)}")


class Keeper:
    """Keeps the answers of concurrent requests in one transaction (group commit): a request
    hands its answer over and awaits the commit that holds it. One transaction per answer made
    the requests queue for SQLite's one writer at 300 answers a second."""

    def __init__(self, engine: Engine, *, batch_size: int = 500) -> None:
        self._engine, self.batch_size = engine, batch_size
        self._queue: queue.SimpleQueue[tuple[Answer, asyncio.Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="survey-keeper", daemon=True)
        self._thread.start()

    async def keep(self, answer: Answer) -> None:
        """Returns once the answer is committed; raises what the database raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((answer, done))
        await done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while len(waiting) < self.batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                waiting.append(item)
            problem: Exception | None = None
            try:
                keep(self._engine, [answer for answer, _ in waiting])
            except Exception as exc:  # each waiting request answers it
                problem = exc
            for _, done in waiting:
                done.get_loop().call_soon_threadsafe(_settle, done, problem)


def _settle(done: asyncio.Future[None], problem: Exception | None) -> None:
    if done.cancelled():
        return
    if problem is None:
        done.set_result(None)
    else:
        done.set_exception(problem)


def earlier(engine: Engine, survey: Survey) -> tuple[int, str] | None:
    """The answer this link was given last (rating, comment), still waiting in the outbox or
    already written; None when it was never answered. The page shows it filled in, since a new
    answer replaces it whole, comment included."""
    with engine.connect() as conn:
        record = conn.execute(
            select(OUTBOX.c.record).where(OUTBOX.c.event_id == survey.event_id)
        ).scalar()
        if record is not None:
            event = ingest_pb2.InteractionBatch.FromString(record).events[0]
            return event.count, event.attributes.get("comment", "")
        stored = conn.execute(
            select(EVENTS.c.count, EVENTS.c.attributes).where(EVENTS.c.event_id == survey.event_id)
        ).first()
    if stored is None:
        return None
    stars, attributes = stored
    comment = orjson.loads(attributes).get("comment", "") if attributes else ""
    return int(stars), comment if isinstance(comment, str) else ""


@dataclass(frozen=True)
class Pending:
    """An outbox row as the relay read it."""

    event_id: str
    record: bytes
    accepted_at_us: int
    attempts: int


class Relay:
    """Drains the survey outbox to Kafka (a thread of the moments service).

    A row is marked sent only once Kafka acknowledged it, and leaves the outbox only once the
    consumer wrote it to `interaction_event`: a broker that dies holding it (the embedded one
    keeps records only in memory) gets it again after `resend_after_s`. Each record carries
    the answer's own acceptance time as its version, so a copy sent twice (a crash between the
    acknowledgement and the mark, a second moments process) is written once."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        batch_size: int = 500,
        resend_after_s: float = 60.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._engine, self._settings = engine, settings
        self.batch_size, self.resend_after_s, self.timeout_s = batch_size, resend_after_s, timeout_s
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._producer: KafkaProducer | None = None
        self._gauged_at = self._forgot_at = 0.0

    def nudge(self) -> None:
        """An answer was accepted: send it now rather than at the next idle tick."""
        self._wake.set()

    def due(self, now: dt.datetime) -> list[Pending]:
        o = OUTBOX.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(o.event_id, o.record, o.accepted_at_us, o.attempts)
                .where(o.next_attempt_at <= now)
                .order_by(o.next_attempt_at)
                .limit(self.batch_size)
            ).all()
        return [Pending(*row) for row in rows]

    def send(self, rows: list[Pending]) -> list[Pending]:
        """Publish each answer's record as it was kept; the rows Kafka acknowledged.
        Unavailable when none could be sent."""
        from kafka.errors import KafkaError

        from services.common.kafka import make_producer

        try:
            if self._producer is None:
                self._producer = make_producer(self._settings.kafka, linger_ms=5)
            producer = self._producer
            topic = self._settings.kafka_topic
            futures = [producer.send(topic, value=row.record) for row in rows]
            producer.flush(timeout=self.timeout_s)
        except (KafkaError, ValueError, OSError) as exc:
            self._close_producer()
            raise Unavailable(str(exc)) from exc
        acknowledged = [row for row, f in zip(rows, futures, strict=True) if f.succeeded()]
        if not acknowledged:
            failed = next((f.exception for f in futures if f.failed()), None)
            self._close_producer()
            raise Unavailable(str(failed or "no acknowledgement"))
        return acknowledged

    def mark_sent(self, rows: list[Pending], now: dt.datetime) -> None:
        """Sent: looked at again after resend_after_s, unless written by then. Only rows still
        holding the answer that was sent: one accepted meanwhile is still to send."""
        again = now + dt.timedelta(seconds=self.resend_after_s)
        changes = [{"sent_at": now, "next_attempt_at": again, "last_error": None}] * len(rows)
        self._update(rows, changes)

    def back_off(self, rows: list[Pending], error: str, now: dt.datetime) -> None:
        changes = [
            {
                "attempts": row.attempts + 1,
                "next_attempt_at": now + dt.timedelta(seconds=retry_delay_s(row.attempts + 1)),
                "last_error": error[:500],
            }
            for row in rows
        ]
        self._update(rows, changes)

    def _update(self, rows: list[Pending], changes: list[dict[str, Any]]) -> None:
        """Each row's changes in one statement run for all (executemany), only where the row
        still holds the answer read: one accepted meanwhile stays as it is."""
        o = OUTBOX.c
        statement = (
            update(OUTBOX)
            .where(o.event_id == bindparam("b_id"), o.accepted_at_us == bindparam("b_at"))
            .values({name: bindparam(name) for name in changes[0]})
        )
        params = [
            {"b_id": row.event_id, "b_at": row.accepted_at_us, **change}
            for row, change in zip(rows, changes, strict=True)
        ]
        with write_guard(self._engine), self._engine.begin() as conn:
            conn.execute(statement, params)

    def forget_written(self) -> int:
        """Delete the sent answers the consumer wrote (that version or a later one)."""
        o, e = OUTBOX.c, EVENTS.c
        written = exists().where(e.event_id == o.event_id, e.ingested_at_us >= o.accepted_at_us)
        with write_guard(self._engine), self._engine.begin() as conn:
            return conn.execute(delete(OUTBOX).where(o.sent_at.is_not(None), written)).rowcount

    def drain_once(self) -> int:
        """One round: forget what was written (at most once a second: each is a write, which
        the answers being kept wait for on SQLite), send one batch of what is due. The number
        sent."""
        if time.monotonic() - self._forgot_at >= 1.0:
            self.forget_written()
            self._forgot_at = time.monotonic()
        now = utcnow()
        rows = self.due(now)
        sent = 0
        if rows:
            try:
                acknowledged = self.send(rows)
            except Unavailable as exc:
                metrics.SURVEY_FAILURES.inc(len(rows))
                log.warning("survey answers not sent (%d, retried later): %s", len(rows), exc)
                self.back_off(rows, str(exc), now)
            else:
                self.mark_sent(acknowledged, now)
                missed = [r for r in rows if r not in acknowledged]
                if missed:
                    metrics.SURVEY_FAILURES.inc(len(missed))
                    self.back_off(missed, "not acknowledged", now)
                sent = len(acknowledged)
        if time.monotonic() - self._gauged_at >= 1.0 or not rows:
            self.gauges()
        return sent

    def gauges(self) -> None:
        waiting, oldest = status(self._engine)
        metrics.SURVEY_BACKLOG.set(waiting)
        metrics.SURVEY_OLDEST.set(oldest)
        self._gauged_at = time.monotonic()

    def run(self, idle_s: float = 1.0) -> None:
        """Keep draining until stopped; any error is logged and retried, so the thread never
        dies quietly."""
        while not self.stop_event.is_set():
            try:
                sent = self.drain_once()
            except SQLAlchemyError as exc:
                log.error("survey relay could not read or record its outbox: %s", exc)
                sent = 0
            except Exception:  # a fault of ours or the Kafka client's: logged, tried again
                log.exception("survey relay failed; trying again")
                self._close_producer()
                sent = 0
            if sent < self.batch_size:
                self._wake.wait(idle_s)
                self._wake.clear()
        self._close_producer()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="survey-relay", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    def _close_producer(self) -> None:
        """Drop the producer; what it still holds unacknowledged stays due in the outbox."""
        from kafka.errors import KafkaError

        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except KafkaError as exc:  # close() flushes first, which times out here
                log.info("survey relay's producer closed unflushed: %s", exc)


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff with jitter, at most 30 s: an answer follows a short outage closely."""
    return min(2.0 ** min(attempts, 8), 30.0) * random.uniform(0.5, 1.0)


def status(engine: Engine) -> tuple[int, float]:
    """(answers waiting to reach the database, age in seconds of the oldest)."""
    with engine.connect() as conn:
        waiting, oldest = conn.execute(
            select(func.count(), func.min(OUTBOX.c.enqueued_at)).select_from(OUTBOX)
        ).one()
    if not waiting or oldest is None:
        return 0, 0.0
    return int(waiting), max(0.0, (utcnow() - oldest).total_seconds())
