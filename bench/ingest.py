"""Ingest end to end (REST batches of 1,000 or a gRPC stream -> Kafka -> consumer -> SQLite or
PostgreSQL with rollups) against the naive path (one send per event, one insert per event) and
the raw broker ceiling, all in the same run."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import psycopg
from kafka import KafkaConsumer, KafkaProducer
from rapport.ingest.v1 import ingest_pb2_grpc

from services.common import processes
from services.common.config import Settings
from services.common.db import make_engine, migrate
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


def _database(work: Path, kind: str, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / (name + '.db')}"
    admin = os.environ.get("RAPPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}"


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM interaction_event").scalar() or 0)
    finally:
        engine.dispose()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _grpc_requests(events: list[dict[str, Any]]) -> list[Any]:
    from rapport.ingest.v1 import ingest_pb2

    from services.ingest.events import to_proto, validate

    protos = [to_proto(validate(e)) for e in events]  # type: ignore[arg-type]
    return [
        ingest_pb2.PublishRequest(events=protos[i : i + BATCH])
        for i in range(0, len(protos), BATCH)
    ]


def end_to_end(
    work: Path,
    broker: str,
    events: list[dict[str, Any]],
    *,
    broker_pid: int,
    transport: str = "rest",
    database: str = "sqlite",
) -> dict[str, Any]:
    name = f"bench_e2e_{transport}_{database}"
    url = _database(work, database, name)
    migrate(url)
    port = processes.free_port()
    grpc_port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        "INGEST_HTTP_PORT": str(port),
        "INGEST_GRPC_PORT": str(grpc_port),
        "CONSUMER_METRICS_PORT": str(processes.free_port()),
        "RAPPORT_ADMIN_TOKEN": "bench-token",
        "KAFKA_CONSUMER_GROUP": name,
        "KAFKA_TOPIC": name,
        "KAFKA_DLQ_TOPIC": name + "-dlq",
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }
    ingest = processes.spawn(processes.rapport_command("ingest"), env=env, log=work / "ingest.log")
    consumer = processes.spawn(
        processes.rapport_command("consumer"), env=env, log=work / "consumer.log"
    )
    try:
        processes.wait_for_port(port)
        latencies: list[float] = []
        headers = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
        requests = _grpc_requests(events) if transport == "grpc" else []
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as client:
            client.post("/v1/interactions", json=events[:10]).raise_for_status()  # warm up
        # Sustained throughput: the clock starts once the consumer has joined its group and
        # written the warm-up events (the join alone takes seconds), with the request bodies
        # encoded beforehand, as a client holding its data would have them.
        while _count(url) < 10:
            time.sleep(0.1)
        bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
        pids = {"ingest": ingest.pid, "consumer": consumer.pid, "broker": broker_pid}
        cpu_before = {name: _cpu_s(pid) for name, pid in pids.items()}
        client_before = time.process_time()
        started = time.perf_counter()
        if transport == "grpc":
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                stub = ingest_pb2_grpc.IngestServiceStub(channel)
                answer = stub.PublishStream(
                    iter(requests), metadata=(("authorization", "Bearer bench-token"),)
                )
                assert answer.accepted == len(events), answer
            latencies.append(time.perf_counter() - started)  # one stream, one answer
        else:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
            ) as client:
                for body in bodies:
                    t0 = time.perf_counter()
                    client.post("/v1/interactions", content=body).raise_for_status()
                    latencies.append(time.perf_counter() - t0)
        accepted_s = time.perf_counter() - started
        while _count(url) < len(events):  # the warm-up events are the first ten again
            time.sleep(0.1)
        total_s = time.perf_counter() - started
        cpu = {name: _cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu["client"] = time.process_time() - client_before
    finally:
        processes.stop(ingest)
        processes.stop(consumer)
    latencies.sort()
    return {
        "transport": transport,
        "database": database,
        "events": len(events),
        "events_per_s": round(len(events) / total_s),
        "accept_events_per_s": round(len(events) / accepted_s),
        "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "request_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "seconds": round(total_s, 2),
        # Where the two cores went: CPU time per event of each process (the client includes
        # encoding the requests and polling the row count).
        "cpu_us_per_event": {name: round(s * 1e6 / len(events), 1) for name, s in cpu.items()},
        "cpu_busy_fraction": round(sum(cpu.values()) / (total_s * (os.cpu_count() or 1)), 2),
    }


def naive(work: Path, broker: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One kafka-python send per event (JSON), one INSERT + commit per event."""
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
            pid = broker_proc.pid
            e2e = end_to_end(work, broker, events, broker_pid=pid)
            grpc_e2e = end_to_end(work, broker, events, broker_pid=pid, transport="grpc")
            pg_e2e = end_to_end(work, broker, events, broker_pid=pid, database="postgresql")
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
        "end_to_end_grpc_stream": grpc_e2e,
        "end_to_end_postgresql": pg_e2e,
        "naive": slow,
        "broker_ceiling": top,
        "summary": {
            "e2e_events_per_s": e2e["events_per_s"],
            "e2e_grpc_events_per_s": grpc_e2e["events_per_s"],
            "e2e_postgresql_events_per_s": pg_e2e["events_per_s"],
            "naive_events_per_s": slow["events_per_s"],
            "speedup_vs_naive": round(e2e["events_per_s"] / slow["events_per_s"], 1),
            "e2e_over_ceiling": round(e2e["events_per_s"] / top["events_per_s"], 3),
            "request_p99_ms": e2e["request_p99_ms"],
        },
    }
