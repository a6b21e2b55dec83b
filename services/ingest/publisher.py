"""Publishing validated events to Kafka: many events per record, answered once acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn

from kafka import KafkaProducer
from kafka.errors import KafkaError
from rapport.ingest.v1 import ingest_pb2

from services.common.config import Settings
from services.common.kafka import MAX_RECORD_BYTES, make_producer
from services.ingest import dead_letters
from services.ingest.events import Valid
from services.ingest.metrics import BROKER_UNAVAILABLE, PRODUCE_SECONDS

log = logging.getLogger(__name__)

MAX_EVENTS_PER_RECORD = 2_000


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time; the client should retry later."""

    retry_after_s = 5


def records(events: Sequence[Valid], *, source: str, ingested_at_us: int) -> Iterator[bytes]:
    """Serialized InteractionBatch records of up to MAX_EVENTS_PER_RECORD events, each below the
    broker's record size limit (a batch that comes out larger is split in halves)."""
    for start in range(0, len(events), MAX_EVENTS_PER_RECORD):
        yield from _record(events[start : start + MAX_EVENTS_PER_RECORD], source, ingested_at_us)


def _record(events: Sequence[Valid], source: str, ingested_at_us: int) -> Iterator[bytes]:
    batch = ingest_pb2.InteractionBatch(ingested_at_us=ingested_at_us, source=source)
    add = batch.events.add  # built in place: appending a finished message would copy it
    for event in events:
        add(**event)
    value = batch.SerializeToString()
    if len(value) <= MAX_RECORD_BYTES or len(events) == 1:  # the field limits keep one
        yield value  # event under 60 KB
        return
    half = len(events) // 2
    yield from _record(events[:half], source, ingested_at_us)
    yield from _record(events[half:], source, ingested_at_us)


def now_us() -> int:
    return time.time_ns() // 1000


class Publisher:
    """Owns one thread-safe KafkaProducer, created on first use and recreated after failures."""

    def __init__(self, settings: Settings, **producer_overrides: Any) -> None:
        self._settings = settings
        self._overrides = producer_overrides
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        self.timeout_s = 15.0

    def _get(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = make_producer(self._settings, **self._overrides)
                except KafkaError as exc:
                    raise BrokerUnavailable(f"Kafka is unreachable: {exc}") from exc
            return self._producer

    def _send_all(self, topic: str, values: Iterable[bytes]) -> list[Any]:
        producer = self._get()
        try:
            return [producer.send(topic, value=value) for value in values]
        except KafkaError as exc:
            self._failed(exc)

    def send_events(self, events: Sequence[Valid], *, source: str) -> list[Any]:
        """Hand the events to the producer; the returned futures resolve on acknowledgement."""
        values = records(events, source=source, ingested_at_us=now_us())
        return self._send_all(self._settings.kafka_topic, values)

    def send_dead_letters(self, letters: Sequence[dict[str, Any]]) -> list[Any]:
        """Rejected items with their reason, one JSON record each, on the dead-letter topic."""
        return self._send_all(self._settings.kafka_dlq_topic, map(dead_letters.encode, letters))

    def wait(self, futures: Sequence[Any]) -> None:
        """Block until every future is acknowledged; BrokerUnavailable otherwise."""
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        try:
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            self._failed(exc)
        PRODUCE_SECONDS.observe(time.perf_counter() - started)

    def _failed(self, exc: BaseException) -> NoReturn:
        """Count, drop the producer (a restarted broker forgets its idempotence state), raise."""
        BROKER_UNAVAILABLE.inc()
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError):
                producer.close(timeout=0)  # unsent records fail their futures: never acknowledged
        raise BrokerUnavailable(f"Kafka did not acknowledge: {exc}") from exc

    async def wait_async(self, futures: Sequence[Any]) -> None:
        """Like wait(), without holding an event-loop thread while Kafka works."""
        if not futures:
            return
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        done: asyncio.Future[None] = loop.create_future()
        remaining = [len(futures)]

        def ok(_meta: Any) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                loop.call_soon_threadsafe(_settle, None)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, exc)

        def _settle(exc: BaseException | None) -> None:
            if done.done():
                return
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

        for future in futures:
            future.add_callback(ok)
            future.add_errback(failed)
        try:
            await asyncio.wait_for(done, self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            self._failed(exc)
        PRODUCE_SECONDS.observe(time.perf_counter() - started)

    def close(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=timeout_s)
                self._producer = None
