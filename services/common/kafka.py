"""Kafka client factories and topic setup; every Rapport process gets its clients from here."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.config import KafkaLink

log = logging.getLogger(__name__)

# One Kafka record carries up to this many bytes of protobuf: below the broker's default
# message.max.bytes (1 MiB) with room for the record framing.
MAX_RECORD_BYTES = 900_000


def make_producer(link: KafkaLink, **overrides: Any) -> KafkaProducer:
    """A durable producer: every write acknowledged by all in-sync replicas, idempotent retries."""
    options: dict[str, Any] = {
        "bootstrap_servers": link.bootstrap_servers,
        "client_id": "rapport",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "batch_size": 1_048_576,
        "max_request_size": 4 * 1_048_576,
        "max_block_ms": 5_000,
        "bootstrap_timeout_ms": 5_000,
        "request_timeout_ms": 10_000,
        "delivery_timeout_ms": 30_000,
        "reconnect_backoff_max_ms": 2_000,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(link: KafkaLink, **overrides: Any) -> KafkaConsumer:
    """A group consumer with manual commits: offsets move only after the database commits."""
    options: dict[str, Any] = {
        "bootstrap_servers": link.bootstrap_servers,
        "client_id": "rapport-consumer",
        "group_id": link.group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": link.session_timeout_ms,
        "heartbeat_interval_ms": min(1_000, link.session_timeout_ms // 3),
        "bootstrap_timeout_ms": 30_000,
        "max_poll_interval_ms": 300_000,
        "fetch_max_bytes": 32 * 1_048_576,
        "max_partition_fetch_bytes": 8 * 1_048_576,
    }
    options.update(overrides)
    return KafkaConsumer(**options)


def make_admin(link: KafkaLink, **overrides: Any) -> KafkaAdminClient:
    """An admin client (topics, the cluster's id, a group's commits) that gives up on an absent
    broker within 2 s."""
    options: dict[str, Any] = {
        "bootstrap_servers": link.bootstrap_servers,
        "client_id": "rapport-admin",
        "bootstrap_timeout_ms": 2_000,
    }
    options.update(overrides)
    return KafkaAdminClient(**options)


def group_lag(link: KafkaLink) -> int | None:
    """Records on the interactions topic the consumer group has not committed yet, read from the
    broker (None: unknown). The consumer's own gauge (rapport_consumer_lag_records) counts from
    its fetch position instead: what it has read, not what it has written."""
    try:
        admin = make_admin(link)
        probe = make_consumer(
            link, group_id=None, client_id="rapport-lag", bootstrap_timeout_ms=2_000
        )
    except KafkaError:
        return None
    try:
        done = admin.list_group_offsets({link.group: None}).get(link.group, {})
        partitions = probe.partitions_for_topic(link.topic) or set()
        ends = probe.end_offsets([TopicPartition(link.topic, p) for p in partitions])
        return sum(
            max(0, int(end) - (done[tp].offset if tp in done and done[tp].offset >= 0 else 0))
            for tp, end in ends.items()
        )
    except KafkaError:
        return None
    finally:
        admin.close()
        probe.close()


def ensure_topics(link: KafkaLink, timeout_s: float = 30.0) -> None:
    """Create the interactions and dead-letter topics when missing (waits for the broker)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = make_admin(link)
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(topic, num_partitions=link.partitions, replication_factor=1)
            for topic in (link.topic, link.dlq_topic)
            if topic not in existing
        ]
        if wanted:
            # Another process may create a topic between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
    finally:
        admin.close()


def broker_reachable(link: KafkaLink, timeout_s: float = 2.0) -> bool:
    """True when a Kafka broker answers a metadata request."""
    try:
        admin = make_admin(
            link,
            client_id="rapport-probe",
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except (KafkaError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()
