"""Ingest end to end (REST batches of 1,000 -> Kafka -> consumer -> SQLite with rollups) against
the naive path (one send per event, one insert per event) and the raw broker ceiling, same run."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer, KafkaProducer

from services.common import processes
from services.common.config import Settings
from services.common.db import migrate
from services.common.kafka import ensure_topics
from services.ingest.demo import generate

E2E_EVENTS = int(os.environ.get("BENCH_E2E_EVENTS", "200000"))
NAIVE_EVENTS = int(os.environ.get("BENCH_NAIVE_EVENTS", "20000"))
CEILING_EVENTS = 1_000_000
BATCH = 1_000


def _events(n: int) -> list[dict[str, Any]]:
    out = []
    for event in generate(2026, __import__("datetime").datetime(2026, 12, 31)):
        out.append(event)
        if len(out) >= n:
            break
    return out


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM interaction_event").fetchone()[0])


def end_to_end(work: Path, broker: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    db = work / "e2e.db"
    url = f"sqlite:///{db}"
    migrate(url)
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        "INGEST_HTTP_PORT": str(port),
        "INGEST_GRPC_PORT": str(processes.free_port()),
        "CONSUMER_METRICS_PORT": str(processes.free_port()),
        "RAPPORT_ADMIN_TOKEN": "bench-token",
        "KAFKA_CONSUMER_GROUP": "bench-e2e",
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }
    ingest = processes.spawn(processes.rapport_command("ingest"), env=env, log=work / "ingest.log")
    consumer = processes.spawn(
        processes.rapport_command("consumer"), env=env, log=work / "consumer.log"
    )
    try:
        processes.wait_for_port(port)
        latencies = []
        headers = {"Authorization": "Bearer bench-token"}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as client:
            client.post("/v1/interactions", json=events[:10]).raise_for_status()  # warm up
            started = time.perf_counter()
            for i in range(0, len(events), BATCH):
                t0 = time.perf_counter()
                client.post("/v1/interactions", json=events[i : i + BATCH]).raise_for_status()
                latencies.append(time.perf_counter() - t0)
            accepted_s = time.perf_counter() - started
            while _count(db) < len(events):
                time.sleep(0.05)
            total_s = time.perf_counter() - started
    finally:
        processes.stop(ingest)
        processes.stop(consumer)
    latencies.sort()
    return {
        "events": len(events),
        "events_per_s": round(len(events) / total_s),
        "accept_events_per_s": round(len(events) / accepted_s),
        "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "request_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def naive(work: Path, broker: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One kafka-python send per event (JSON), one INSERT + commit per event."""
    import orjson

    db = work / "naive.db"
    topic = "bench-naive"
    Settings_ = Settings(
        kafka_bootstrap_servers=broker,
        kafka_topic=topic,
        kafka_dlq_topic=topic + "-dlq",
        _env_file=None,
    )  # type: ignore[call-arg]
    ensure_topics(Settings_)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE ev (event_id TEXT PRIMARY KEY, body TEXT)")
    started = time.perf_counter()
    producer = KafkaProducer(bootstrap_servers=broker, acks="all", enable_idempotence=True)
    for event in events:
        producer.send(topic, orjson.dumps(event)).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker,
        auto_offset_reset="earliest",
        group_id="bench-naive",
        session_timeout_ms=6000,
    )
    written = 0
    conn = sqlite3.connect(db)
    while written < len(events):
        for records in consumer.poll(timeout_ms=1000).values():
            for record in records:
                event = orjson.loads(record.value)
                conn.execute(
                    "INSERT OR REPLACE INTO ev VALUES (?, ?)", (event["event_id"], record.value)
                )
                conn.commit()
                written += 1
    consumer.close()
    conn.close()
    return {
        "events": len(events),
        "events_per_s": round(len(events) / (time.perf_counter() - started)),
    }


def ceiling(broker: str) -> dict[str, Any]:
    """The fastest producer here: kafka-python, 1,000-event-sized records, no validation."""
    payload = os.urandom(120 * 1_000)
    producer = KafkaProducer(
        bootstrap_servers=broker,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=1_048_576,
        max_request_size=4_194_304,
    )
    records = CEILING_EVENTS // 1_000
    started = time.perf_counter()
    futures = [producer.send("bench-ceiling", payload) for _ in range(records)]
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    elapsed = time.perf_counter() - started
    producer.close()
    return {"events": CEILING_EVENTS, "events_per_s": round(CEILING_EVENTS / elapsed)}


def run(_argv: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = processes.free_port()
        broker_proc = processes.spawn(processes.broker_command(port), log=work / "tansu.log")
        broker = f"127.0.0.1:{port}"
        try:
            processes.wait_for_port(port)
            ensure_topics(Settings(kafka_bootstrap_servers=broker, _env_file=None))  # type: ignore[call-arg]
            events = _events(E2E_EVENTS)
            e2e = end_to_end(work, broker, events)
            slow = naive(work, broker, events[:NAIVE_EVENTS])
            top = ceiling(broker)
        finally:
            processes.stop(broker_proc)
    return {
        "benchmark": "ingest_end_to_end",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "database": "sqlite",
        "end_to_end": e2e,
        "naive": slow,
        "broker_ceiling": top,
        "summary": {
            "e2e_events_per_s": e2e["events_per_s"],
            "naive_events_per_s": slow["events_per_s"],
            "speedup_vs_naive": round(e2e["events_per_s"] / slow["events_per_s"], 1),
            "e2e_over_ceiling": round(e2e["events_per_s"] / top["events_per_s"], 3),
            "request_p99_ms": e2e["request_p99_ms"],
        },
    }
