"""Survey answers at a steady rate against `rapport up --no-demo` as users run it (every
service, the embedded broker, SQLite): latency of each answer, the same load on the same app's
bare `/healthz` for the ratio, and every answer in the database once.

Each answer is a real signed link of its own (a link may be answered 5 times in 10 minutes)
from an address of its own: the stack trusts 127.0.0.1 as its reverse proxy
(RAPPORT_TRUSTED_PROXIES), which names the customer in X-Forwarded-For, as a proxy in front
of the moments service does; the limits themselves are the users'. The load comes from this
process over CONNECTIONS keep-alive connections, each request sent at its slot of a RATE per
second schedule (a late connection sends at once), timed from its first byte written to the
last byte of the answer read. CPU per answer is counted for each process `rapport up` started,
the survey relay (`rapport surveys relay`, `surveys` in the JSON) among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bench.ingest import UP_COMMAND, _cpu_s, up_env
from services.common.db import make_engine
from services.moments import surveys

RATE = int(os.environ.get("BENCH_SURVEY_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_SURVEY_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_SURVEY_CONNECTIONS", "32"))
# An empty PostgreSQL database instead of SQLite (e.g. postgresql://postgres@127.0.0.1/bench).
DATABASE_URL = os.environ.get("BENCH_SURVEY_DATABASE_URL")
SECRET = "bench-survey-secret"
WARM_UP = 200


def _requests(count: int, offset: int) -> list[bytes]:
    """`count` answers, each on a conversation and a link of its own, from its own address."""
    key = SECRET.encode()
    now = time.time()
    out = []
    for n in range(offset, offset + count):
        survey = surveys.mint(key, network="instagram", conversation_id=f"bench-{n}", days=30,
                              now=now)  # fmt: skip
        body = f"rating={1 + n % 5}&comment=bench+answer+{n}".encode()
        address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        out.append(
            f"POST /s/{surveys.token_of(key, survey)} HTTP/1.1\r\nHost: bench\r\n"
            f"X-Forwarded-For: {address}\r\nAccept-Language: en\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return out


def _bare(count: int) -> list[bytes]:
    return [b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"] * count


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def _load(port: int, requests: list[bytes], rate: float) -> dict[str, Any]:
    """Send `requests` at `rate` per second over CONNECTIONS connections."""
    start = time.perf_counter() + 0.2
    slots = iter(enumerate(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n, request in slots:
                wait = start + n / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                t0 = time.perf_counter()
                writer.write(request)
                status, body = await _answer(reader)
                latencies.append(time.perf_counter() - t0)
                if status == 200 and request.startswith(b"POST"):
                    assert b"Thank you!" in body, body[:300]
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - max(began, start)
    latencies.sort()
    return {
        "answers": len(latencies),
        "per_s": round(len(latencies) / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _ratings(engine: Engine) -> tuple[int, int, int]:
    """Ratings stored, rating events in the daily rollups, answers waiting in the outbox."""
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM interaction_event WHERE kind = 'rating'"
        ).scalar()
        rolled = conn.exec_driver_sql(
            "SELECT COALESCE(SUM(events), 0) FROM rollup_daily WHERE kind = 'rating'"
        ).scalar()
        waiting = conn.exec_driver_sql("SELECT COUNT(*) FROM survey_outbox").scalar()
    return int(stored or 0), int(rolled or 0), int(waiting or 0)


def _wait_written(engine: Engine, n: int, timeout_s: float = 120) -> float:
    """Seconds until `n` ratings are stored and the outbox is empty."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        stored, _rolled, waiting = _ratings(engine)
        if stored >= n and waiting == 0:
            break
        time.sleep(0.2)
    return round(time.perf_counter() - t0, 1)


# `surveys` is the survey relay (`rapport surveys relay`); not the day's backup, which ends.
SERVICES = ("moments", "surveys", "consumer", "ingest", "reports")


def _children(parent: int) -> dict[str, int]:
    """The services `rapport up` started, by verb (`moments`, `consumer`, ...)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            args = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if (
            b"services.cli" in args
            and (verb := args[args.index(b"services.cli") + 1].decode()) in SERVICES
        ):
            found[verb] = int(stat.parent.name)
    return found


@contextlib.contextmanager
def _up(work: Path) -> Iterator[tuple[int, str, dict[str, int]]]:
    """`rapport up --no-demo` trusting 127.0.0.1 as its proxy: the moments port, the database,
    the children's pids."""
    url = DATABASE_URL or f"sqlite:///{work / 'rapport.db'}"
    env = up_env(url, RAPPORT_SURVEY_SECRET=SECRET, RAPPORT_TRUSTED_PROXIES="127.0.0.1")
    log_path = work / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(UP_COMMAND, cwd=work, env=env, stdin=subprocess.DEVNULL,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while "Rapport is ready" not in log_path.read_text():
                if up.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rapport up did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield int(env["MOMENTS_HTTP_PORT"]), url, _children(up.pid)
        finally:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(90)
            except subprocess.TimeoutExpired:
                up.kill()


def run(argv: list[str]) -> dict[str, Any]:
    """`python -m bench surveys [--stack up]`: the stack is always `rapport up`."""
    total = int(RATE * SECONDS)
    with tempfile.TemporaryDirectory() as tmp, _up(Path(tmp)) as (port, url, pids):
        engine = make_engine(url)
        try:
            # Warm up (connections, the relay's producer, the first records), not counted.
            asyncio.run(_load(port, _requests(WARM_UP, total), rate=100))
            _wait_written(engine, WARM_UP)
            requests = _requests(total, 0)
            bare = asyncio.run(_load(port, _bare(total), rate=RATE))
            before = {verb: _cpu_s(pid) for verb, pid in pids.items()}
            load = asyncio.run(_load(port, requests, rate=RATE))
            written_s = _wait_written(engine, total + WARM_UP)
            # CPU per answer, each process, from the first answer to the last one written.
            cpu_ms = {verb: round((_cpu_s(pid) - before[verb]) * 1000 / total, 2)
                      for verb, pid in pids.items()}  # fmt: skip
            time.sleep(1)  # a second copy of anything would be counted by now
            stored, rolled, waiting = _ratings(engine)
        finally:
            engine.dispose()
    once = stored == rolled == total + WARM_UP and waiting == 0
    return {
        "benchmark": "surveys",
        "stack": "rapport up --no-demo (every service, embedded broker, "
        + ("PostgreSQL)" if DATABASE_URL else "SQLite)"),
        "load": f"asyncio, {CONNECTIONS} keep-alive connections, a signed link and address each",
        "offered_per_s": RATE,
        "seconds": SECONDS,
        "answers": load,
        "baseline_healthz": bare,
        "p99_ratio_to_healthz": round(load["p99_ms"] / max(bare["p99_ms"], 0.1), 1),
        "written_after_last_answer_s": written_s,
        "cpu_ms_per_answer": cpu_ms,
        "ratings_stored": stored - WARM_UP,
        "each_counted_once": once,
        "summary": {
            "answered_per_s": load["per_s"],
            "p50_ms": load["p50_ms"],
            "p99_ms": load["p99_ms"],
            "healthz_p99_ms": bare["p99_ms"],
            "p99_ratio_to_healthz": round(load["p99_ms"] / max(bare["p99_ms"], 0.1), 1),
            "moments_cpu_ms_per_answer": cpu_ms.get("moments"),
            # The relay's process (0 where the moments service relays itself): together, the
            # CPU an answer costs from the page to Kafka.
            "relay_cpu_ms_per_answer": cpu_ms.get("surveys", 0.0),
            "refused": sum(v for k, v in load["statuses"].items() if k != "200"),
            "each_counted_once": once,
        },
    }
