"""Ingest end to end (REST batches of 1,000 or a gRPC stream -> Kafka -> consumer -> SQLite or
PostgreSQL with rollups) against the naive path (one send per event, one insert per event) and
the raw broker ceiling, all in the same run."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
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
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings
from services.common.db import make_engine
from services.common.kafka import ensure_topics
from services.demo import generate
from services.domain.migrate import migrate
from services.up import PORT_VARIABLES

E2E_EVENTS = int(os.environ.get("BENCH_E2E_EVENTS", "200000"))
NAIVE_EVENTS = int(os.environ.get("BENCH_NAIVE_EVENTS", "20000"))
CEILING_EVENTS = 1_000_000
BATCH = 1_000
PARTITIONS = Settings(_env_file=None).kafka_partitions  # type: ignore[call-arg]


def _events(n: int) -> list[dict[str, Any]]:
    out = []
    for event in generate(2026, __import__("datetime").datetime(2026, 12, 31)):
        out.append(event)
        if len(out) >= n:
            break
    return out


def _database(work: Path, kind: str, name: str) -> str:
    if kind == "sqlite":
        for stale in work.glob(f"{name}.db*"):  # a rerun in the same directory starts empty
            stale.unlink()
        return f"sqlite:///{work / (name + '.db')}"
    admin = os.environ.get("RAPPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}"


def _written(engine: Engine) -> int:
    """Events committed so far, read from the daily rollups (a few thousand rows, written in the
    same transaction as the events): counting the events table itself every 0.1 s took a core's
    tenth from the processes being measured."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT SUM(events) FROM rollup_daily").scalar() or 0)


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


def _wait_for_assignment(logs: list[Path], partitions: int, timeout_s: float = 60) -> None:
    """Until the consumers' logs show every partition owned by exactly one of them (each
    consumer logs its assignment after every rebalance), so no rebalance falls in the timing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        owned = []
        for log in logs:
            lines = [
                line for line in log.read_text().splitlines() if "partitions assigned:" in line
            ]
            last = lines[-1].rsplit(":", 1)[1].strip() if lines else "none"
            owned.append(set() if last == "none" else set(last.split(", ")))
        if all(owned) and sum(map(len, owned)) == partitions == len(set().union(*owned)):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the consumers did not share the {partitions} partitions in time")


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far: every process, the database too."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


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
    consumers: int = 1,
) -> dict[str, Any]:
    name = f"bench_e2e_{transport}_{database}_{consumers}"
    url = _database(work, database, name)
    migrate(url)
    engine = make_engine(url)
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
    logs = [work / f"{name}-consumer{n}.log" for n in range(consumers)]
    group = [
        processes.spawn(
            processes.rapport_command("consumer"),
            env={**env, "CONSUMER_METRICS_PORT": str(processes.free_port())},
            log=log,
        )
        for log in logs
    ]
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
        while _written(engine) < 10:
            time.sleep(0.1)
        bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
        _wait_for_assignment(logs, PARTITIONS)
        pids = {"ingest": [ingest.pid], "consumer": [c.pid for c in group], "broker": [broker_pid]}
        cpu_before = {proc: sum(map(_cpu_s, ids)) for proc, ids in pids.items()}
        client_before = time.process_time()
        machine_before = _machine_cpu()
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
        while _written(engine) < len(events):  # the warm-up events are the first ten again
            time.sleep(0.02)
        total_s = time.perf_counter() - started
        cpu = {proc: sum(map(_cpu_s, ids)) - cpu_before[proc] for proc, ids in pids.items()}
        cpu["client"] = time.process_time() - client_before
        machine = [
            after - before for after, before in zip(_machine_cpu(), machine_before, strict=True)
        ]
        assert _count(url) == len(events)
    finally:
        engine.dispose()
        processes.stop(ingest)
        for consumer in group:
            processes.stop(consumer)
    latencies.sort()
    return {
        "transport": transport,
        "database": database,
        "consumer_processes": consumers,
        "events": len(events),
        "events_per_s": round(len(events) / total_s),
        "accept_events_per_s": round(len(events) / accepted_s),
        "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "request_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "seconds": round(total_s, 2),
        # Where the two cores went: CPU time per event of each process (the client includes
        # sending the requests and polling the committed count).
        "cpu_us_per_event": {name: round(s * 1e6 / len(events), 1) for name, s in cpu.items()},
        # Busy share of both cores over the run, whatever used them (PostgreSQL's server too).
        "machine_cpu_busy": round(machine[0] / machine[1], 2),
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
    ensure_topics(Settings_.kafka)
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


# (transport, database, consumer processes). One consumer process is the default deployment;
# two (one group, partitions shared) is how it scales, here on the same two cores.
RUNS = [
    ("rest", "sqlite", 1),
    ("rest", "sqlite", 2),
    ("grpc", "sqlite", 2),
    ("rest", "postgresql", 1),
    ("rest", "postgresql", 2),
]


def run(argv: list[str]) -> dict[str, Any]:
    """`python -m bench ingest` (the set-ups above) or `... ingest --stack up` (rapport up)."""
    if argv[:2] == ["--stack", "up"]:
        return run_stack(argv)
    if argv[:1] == ["--cpu"]:
        return cpu_stages()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = processes.free_port()
        broker_proc = processes.spawn(processes.broker_command(port), log=work / "tansu.log")
        broker = f"127.0.0.1:{port}"
        try:
            processes.wait_for_port(port)
            ensure_topics(Settings(kafka_bootstrap_servers=broker, _env_file=None).kafka)  # type: ignore[call-arg]
            events = _events(E2E_EVENTS)
            results = {
                f"{transport}_{database}_{consumers}_consumer": end_to_end(
                    work,
                    broker,
                    events,
                    broker_pid=broker_proc.pid,
                    transport=transport,
                    database=database,
                    consumers=consumers,
                )
                for transport, database, consumers in RUNS
            }
            slow = naive(work, broker, events[:NAIVE_EVENTS])
            top = ceiling(broker)
        finally:
            processes.stop(broker_proc)
    one = results["rest_sqlite_1_consumer"]
    best = max(results.values(), key=lambda r: r["events_per_s"])
    return {
        "benchmark": "ingest_end_to_end",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "end_to_end": results,
        "naive": slow,
        "broker_ceiling": top,
        "summary": {
            **{f"e2e_{name}_events_per_s": r["events_per_s"] for name, r in results.items()},
            "naive_events_per_s": slow["events_per_s"],
            # Like for like: the naive path is one process too.
            "speedup_vs_naive_one_consumer": round(one["events_per_s"] / slow["events_per_s"], 1),
            "e2e_best_over_ceiling": round(best["events_per_s"] / top["events_per_s"], 3),
            "request_p99_ms": one["request_p99_ms"],
        },
    }


# --- `python -m bench ingest --stack up`: the default stack as `make run` starts it -------------

STACK_EVENTS = int(os.environ.get("BENCH_STACK_EVENTS", "300000"))
STACK_CLIENTS = 4


def _producer_loop(broker: str, events: list[dict[str, Any]]) -> float:
    """The plain kafka-python loop: one JSON record per event, acks=all, flush at the end."""
    topic = "bench-producer-loop"
    ensure_topics(
        Settings(kafka_bootstrap_servers=broker, kafka_topic=topic, _env_file=None).kafka  # type: ignore[call-arg]
    )
    producer = KafkaProducer(bootstrap_servers=broker, acks="all", enable_idempotence=True)
    started = time.perf_counter()
    for event in events:
        producer.send(topic, orjson.dumps(event))
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(events) / elapsed


def _say(message: str) -> None:
    print(f"  bench ingest --stack up: {message}", file=__import__("sys").stderr, flush=True)


def _past_events(n: int) -> list[dict[str, Any]]:
    """n demo events that have happened already (ingest refuses events from the future)."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out = []
    for year in (now.year - 1, now.year):
        for event in generate(year, now):
            out.append(event)
            if len(out) >= n:
                return out
    return out


UP_COMMAND = [sys.executable, "-m", "services.cli", "up", "--no-demo"]


def up_env(url: str, **extra: str) -> dict[str, str]:
    """The environment a benchmark runs `rapport up --no-demo` with: every port free, the
    database at `url`, no Sheets, the embedded broker (not one from this shell)."""
    env = {
        **os.environ,
        **{name: str(processes.free_port()) for name in PORT_VARIABLES},
        "DATABASE_URL": url,
        "SHEETS_SPREADSHEET_ID": "",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


def stack_up(
    work: Path, events: list[dict[str, Any]], *, journal: bool, code: Path | None = None
) -> dict[str, Any]:
    """Start `rapport up` (every service on), time it to ready and to the first event in the
    database, then 4 clients post the events in batches of 1,000 until all are written; then the
    plain producer loop into the same broker, for the ratio. `code`: another checkout of Rapport
    (e.g. `git archive` of an older commit) run instead of this one, with the same virtualenv."""
    import subprocess
    import threading

    run_dir = work / (("journal" if journal else "no-journal") + ("-before" if code else ""))
    run_dir.mkdir()
    url = f"sqlite:///{run_dir / 'rapport.db'}"
    env = up_env(url) if journal else up_env(url, INGEST_JOURNAL_DIR="")  # empty: off
    if code is not None:  # ahead of the editable install on sys.path, in every child too
        env["PYTHONPATH"] = f"{code}:{code / 'proto'}"
    started = time.perf_counter()
    up = subprocess.Popen(
        UP_COMMAND,
        cwd=run_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed = ""
    assert up.stdout is not None
    while "Authorization: Bearer" not in printed:
        line = up.stdout.readline()
        if not line and up.poll() is not None:
            raise RuntimeError(f"rapport up stopped:\n{printed}")
        printed += line
        if "Rapport is ready" in line:
            ready_s = time.perf_counter() - started
    token = printed.split("Authorization: Bearer ", 1)[1].split("'", 1)[0]
    threading.Thread(target=up.stdout.read, daemon=True).start()  # keep its pipe drained
    base = f"http://127.0.0.1:{env['INGEST_HTTP_PORT']}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        httpx.post(f"{base}/v1/interactions", json=events[:1], headers=headers).raise_for_status()
        while _written(engine) < 1:
            time.sleep(0.01)
        first_s = time.perf_counter() - t0
        children = processes.children(up.pid)
        bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
        latencies: list[float] = []

        refused = [0]
        accepted = [0]  # the warm-up event is in the first batch again: counted there

        def client(part: list[bytes]) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for body in part:
                    t = time.perf_counter()
                    while (
                        answer := http.post("/v1/interactions", content=body)
                    ).status_code == 503:
                        refused[0] += 1  # as a client should: wait as told, send it again
                        time.sleep(float(answer.headers.get("Retry-After", "1")))
                    answer.raise_for_status()
                    latencies.append(time.perf_counter() - t)
                    accepted[0] += answer.json()["accepted"]

        _say(f"ready in {ready_s:.1f} s; {len(events):,} events from {STACK_CLIENTS} clients")
        # The long-lived children only: a one-off child (the daily backup) may end mid-run.
        children = {k: v for k, v in children.items() if k in ("ingest", "consumer", "broker")}
        cpu_before = {name: _cpu_s(pid) for name, pid in children.items()}
        machine_before = _machine_cpu()
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(bodies[n::STACK_CLIENTS],))
            for n in range(STACK_CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted_s = time.perf_counter() - t0
        _say(f"accepted in {accepted_s:.1f} s ({refused[0]} requests told to retry)")
        deadline = time.monotonic() + 600
        distinct = accepted[0]  # the demo's December lies ahead of today: refused, not counted
        while (written := _written(engine)) < distinct:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {written:,} of {distinct:,} events were written")
            time.sleep(0.02)
        total_s = time.perf_counter() - t0
        _say(f"written in {total_s:.1f} s; the plain producer loop next")
        cpu = {name: _cpu_s(pid) - cpu_before[name] for name, pid in children.items()}
        machine = [a - b for a, b in zip(_machine_cpu(), machine_before, strict=True)]
        loop = _producer_loop(f"127.0.0.1:{env['EMBEDDED_BROKER_PORT']}", events)
    finally:
        engine.dispose()
        t0 = time.perf_counter()
        up.send_signal(__import__("signal").SIGINT)
        up.wait(120)
        stop_s = time.perf_counter() - t0
    latencies.sort()
    rate = accepted[0] / total_s
    return {
        "journal": journal,
        "events": accepted[0],
        "clients": STACK_CLIENTS,
        "startup_to_ready_s": round(ready_s, 2),
        "ready_to_first_event_written_s": round(first_s, 3),
        "events_per_s": round(rate),
        "accept_events_per_s": round(len(events) / accepted_s),
        "producer_loop_events_per_s": round(loop),
        "ratio_to_producer_loop": round(rate / loop, 2),
        "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "request_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "cpu_us_per_event": {
            name: round(s * 1e6 / len(events), 1) for name, s in sorted(cpu.items())
        },
        "machine_cpu_busy": round(machine[0] / machine[1], 2),
        "stop_s": round(stop_s, 1),
        "requests_told_to_retry": refused[0],
    }


def run_stack(argv: list[str]) -> dict[str, Any]:
    """`--stack up`: journal on and off; `--stack up --before DIR`: this code and the one in DIR
    (journal on), alternately, `BENCH_STACK_ROUNDS` rounds, so both see the same machine."""
    events = _past_events(STACK_EVENTS)
    if "--before" in argv:
        return _before_after(events, Path(argv[argv.index("--before") + 1]).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        on = stack_up(work, events, journal=True)
        off = stack_up(work, events, journal=False)
    return {
        "benchmark": "ingest_stack_up",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "journal_on": on,
        "journal_off": off,
        "summary": {
            "stack_events_per_s": on["events_per_s"],
            "stack_ratio_to_producer_loop": on["ratio_to_producer_loop"],
            "startup_to_ready_s": on["startup_to_ready_s"],
            "ready_to_first_event_written_s": on["ready_to_first_event_written_s"],
            "journal_cost": round(1 - on["events_per_s"] / off["events_per_s"], 3),
            "consumer_cpu_us_per_event": on["cpu_us_per_event"].get("consumer"),
            "ingest_cpu_us_per_event": on["cpu_us_per_event"].get("ingest"),
        },
    }


def _before_after(events: list[dict[str, Any]], before: Path) -> dict[str, Any]:
    rounds = int(os.environ.get("BENCH_STACK_ROUNDS", "2"))
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for n in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            # Alternate who goes first: the machine's load drifts within a run.
            order = ("before", "after") if n % 2 == 0 else ("after", "before")
            for which in order:
                _say(f"round {n + 1}: {which}")
                code = before if which == "before" else None
                runs[which].append(stack_up(work, events, journal=True, code=code))
                work.joinpath("journal-before" if code else "journal").rename(work / f"{which}-{n}")

    def best(which: str, key: str) -> float:
        return max(r[key] for r in runs[which])

    def cpu(which: str) -> dict[str, float]:
        return {
            name: min(r["cpu_us_per_event"].get(name, 0.0) for r in runs[which])
            for name in ("ingest", "consumer", "broker")
        }

    return {
        "benchmark": "ingest_stack_up_before_after",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "before_code": str(before),
        **runs,
        "summary": {
            "before_ratio_to_producer_loop": best("before", "ratio_to_producer_loop"),
            "after_ratio_to_producer_loop": best("after", "ratio_to_producer_loop"),
            "before_events_per_s": best("before", "events_per_s"),
            "after_events_per_s": best("after", "events_per_s"),
            "before_cpu_us_per_event": cpu("before"),
            "after_cpu_us_per_event": cpu("after"),
        },
    }


# --- `python -m bench ingest --cpu`: CPU time of each step an event takes, in this process -------

CPU_EVENTS = int(os.environ.get("BENCH_CPU_EVENTS", "100000"))


def cpu_stages() -> dict[str, Any]:
    """Each step of an event's way in one process, without Kafka or HTTP: CPU microseconds an
    event (process time: the other sessions on a shared machine move it far less than wall
    time), best of 5 for the steps without a database, once for the SQLite write."""
    from zoneinfo import ZoneInfo

    from services.ingest.api import parse_events
    from services.ingest.consumer import decode
    from services.ingest.events import validate_all
    from services.ingest.publisher import records
    from services.ingest.rows import Stamps, prepare
    from services.ingest.sink import write

    events = _past_events(CPU_EVENTS)
    n = len(events)
    bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, n, BATCH)]

    def best(step: Any) -> float:
        times = []
        for _ in range(5):
            started = time.process_time()
            step()
            times.append(time.process_time() - started)
        return round(min(times) * 1e6 / n, 2)

    requests = [parse_events(body, "application/json") for body in bodies]
    valid = [v for items in requests for v in validate_all(items)]
    values = [value for value, _ in records(valid, source="rest", ingested_at_us=1)]  # type: ignore[arg-type]
    kafka = [_Record(value) for value in values]
    stamp = Stamps("sqlite")
    out = {
        "events": n,
        "ingest_parse": best(lambda: [parse_events(b, "application/json") for b in bodies]),
        "ingest_validate": best(lambda: [validate_all(items) for items in requests]),
        "ingest_pack": best(lambda: list(records(valid, source="rest", ingested_at_us=1))),  # type: ignore[arg-type]
        "consumer_decode": best(lambda: decode(kafka, stamp)),
    }
    decoded = decode(kafka, stamp)
    tz = ZoneInfo("UTC")
    out["consumer_prepare"] = best(lambda: prepare(decoded.rows, stamp, tz))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/cpu.db"
        migrate(url)
        engine = make_engine(url)
        started = time.process_time()
        for i in range(0, len(kafka), 10):  # 10 records of 1,000: the consumer's batch size
            chunk_stamp = Stamps("sqlite")
            chunk = decode(kafka[i : i + 10], chunk_stamp)
            batch = prepare(chunk.rows, chunk_stamp, tz)
            write(engine, batch)
        out["consumer_all_with_sqlite_write"] = round((time.process_time() - started) * 1e6 / n, 2)
        engine.dispose()
    return {"benchmark": "ingest_cpu", "cpu_us_per_event": out, "summary": out}


class _Record:
    """What the consumer reads of a Kafka record."""

    def __init__(self, value: bytes) -> None:
        self.value, self.topic, self.partition, self.offset = value, "bench", 0, 0
