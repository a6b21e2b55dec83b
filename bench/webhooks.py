"""Signed webhook deliveries at a steady rate against a real `rapport ingest` (embedded broker,
one consumer, SQLite): latency of each answer, and every delivery counted exactly once.

Deliveries are Chatwoot `message_created` events (signature over timestamp and body, the most
work per request of the three sources), signed beforehand. The load comes from wrk (C, so the
client does not take the cores it measures): CONNECTIONS connections, each pausing so that
together they offer about RATE per second; the requests cycle, so later ones are redeliveries of
the same ids, which must not add. Without wrk, an asyncio httpx client paces them instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from bench.ingest import UP_COMMAND, _count, _wait_for_assignment, _written, up_env
from services.common import processes
from services.common.config import Settings
from services.common.db import make_engine
from services.common.kafka import ensure_topics
from services.domain.migrate import migrate

RATE = int(os.environ.get("BENCH_WEBHOOK_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "10"))
SECRET = "bench-chatwoot-secret"
CLIENTS = 64
WARM_UP = 50
CONNECTIONS = 80
THREADS = 2  # the odd and the even deliveries (the count below relies on two)
# Each wrk thread sends on a fixed schedule (one request every THREADS * 1000 / RATE ms, on
# whichever of its connections is free), read off the monotonic clock through LuaJIT's FFI: the
# offered rate stays RATE however long answers take, as long as the connections suffice
# (CONNECTIONS / RATE s of answer time each). A thread that falls behind sends at once until it
# is back on schedule. Latency is wrk's own: from a request's write to its answer.
LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } rapport_timespec;
int clock_gettime(int clk_id, rapport_timespec *tp);
]]
local clock = ffi.new("rapport_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval = %f
local due = nil
local bodies = {%s}
local stamps = {%s}
local signatures = {%s}
local i = 0
local step = 1
setup = function(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
threads = {}
init = function(args)
  i = offset or 0
  step = 2
  sent = 0
  answered = 0
end
request = function()
  i = i + step
  sent = sent + 1
  local n = (i %% #bodies) + 1
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Chatwoot-Timestamp"] = stamps[n]
  wrk.headers["X-Chatwoot-Signature"] = signatures[n]
  return wrk.format("POST", "/v1/webhooks/chatwoot", nil, bodies[n])
end
delay = function()
  local now = now_ms()
  due = (due or now) + interval
  return math.max(0, math.floor(due - now))
end
response = function(status, headers, body)
  answered = answered + 1
  if status ~= 200 then io.write("error status: " .. status .. "\\n") end
end
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("thread sent " .. thread:get("sent") .. " answered " .. thread:get("answered") .. "\\n")
  end
end
"""


def _delivery(number: int, stamp: str) -> tuple[bytes, dict[str, str]]:
    payload = {
        "event": "message_created",
        "id": number,
        "created_at": "2026-03-02T10:00:00.000Z",
        "message_type": "incoming",
        "private": False,
        "sender": {"id": number, "name": f"customer{number}", "type": "contact"},
        "conversation": {"id": number // 3, "channel": "Channel::WebWidget"},
        "inbox": {"id": 1, "name": "chat@rapport.example"},
        "account": {"id": 1},
    }
    body = json.dumps(payload).encode()
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Signature": f"sha256={signature}",
    }


async def _send(port: int, deliveries: list[tuple[bytes, dict[str, str]]]) -> list[float]:
    """Each delivery at its slot of a RATE-per-second schedule; the answer's latency."""
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[float, bytes, dict[str, str]]] = asyncio.Queue()
    start = time.perf_counter() + 0.5
    for n, (body, headers) in enumerate(deliveries):
        queue.put_nowait((start + n / RATE, body, headers))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while not queue.empty():
                due, body, headers = queue.get_nowait()
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = time.perf_counter()
                answer = await http.post("/v1/webhooks/chatwoot", content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                assert answer.status_code == 200, answer.text

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies


def _wrk(port: int, deliveries: list[tuple[bytes, dict[str, str]]], work: Path) -> dict[str, Any]:
    """wrk offering RATE per second for SECONDS: answers, rate and latency percentiles."""

    def lua(values: list[str]) -> str:
        return ",".join(f"[[{v}]]" for v in values)

    interval_ms = THREADS * 1000 / RATE  # each thread's share of the schedule
    script = work / "webhooks.lua"
    script.write_text(
        LUA
        % (
            interval_ms,
            lua([body.decode() for body, _ in deliveries]),
            lua([h["X-Chatwoot-Timestamp"] for _, h in deliveries]),
            lua([h["X-Chatwoot-Signature"] for _, h in deliveries]),
        )
    )
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{int(SECONDS)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=SECONDS + 60, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)

    answers = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    # Each of wrk's two threads walks its half of the deliveries (odd or even), wrapping round
    # to redeliveries; so the distinct events it offered are at most half the list.
    half = len(deliveries) // 2
    threads = [tuple(map(int, t)) for t in re.findall(r"thread sent (\d+) answered (\d+)", out)]
    return {
        "answers": answers,
        "distinct_answered": sum(min(answered, half) for _sent, answered in threads),
        "distinct_sent": sum(min(sent, half) for sent, _answered in threads),
        "per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),  # type: ignore[union-attr]
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "errors": len(re.findall(r"error status: (\d+)", out)),
    }


def run(argv: list[str]) -> dict[str, Any]:
    """`--stack up`: against `rapport up` (what users run) instead of the two processes.
    `--tracing`: the same load twice in this run, tracing off, then on (exporting to a local
    OTLP/HTTP receiver), to measure what tracing costs."""
    if argv[:2] == ["--stack", "up"]:
        return _measure({}, up=True)
    if "--tracing" not in argv:
        return _measure({})
    from tests.support.otlp_server import OtlpServer

    off = _measure({})
    receiver = OtlpServer().start()
    try:
        on = _measure({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
    finally:
        receiver.stop()
    return {
        "benchmark": "webhooks --tracing",
        "off": off,
        "on": on,
        "spans_received": len(receiver.received()),
        "summary": {
            "off_per_s": off["per_s"],
            "on_per_s": on["per_s"],
            "off_p99_ms": off["p99_ms"],
            "on_p99_ms": on["p99_ms"],
            "on_cost_pct": round((1 - on["per_s"] / off["per_s"]) * 100, 1),
            "each_counted_once": off["each_counted_once"] and on["each_counted_once"],
        },
    }


def _wait_written(engine: Engine, n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _written(engine) < n and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def _services(work: Path, extra_env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """The embedded broker, `rapport ingest` and one `rapport consumer`, on SQLite: the HTTP
    port and the database URL."""
    url = f"sqlite:///{work / 'webhooks.db'}"
    migrate(url)
    broker_port = processes.free_port()
    broker = processes.spawn(processes.broker_command(broker_port), log=work / "tansu.log")
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
        "INGEST_HTTP_PORT": str(port),
        "INGEST_GRPC_PORT": str(processes.free_port()),
        "CONSUMER_METRICS_PORT": str(processes.free_port()),
        "CHATWOOT_WEBHOOK_SECRET": SECRET,
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
        **extra_env,
    }
    ingest = consumer = None
    try:
        processes.wait_for_port(broker_port)
        ensure_topics(
            Settings(kafka_bootstrap_servers=f"127.0.0.1:{broker_port}", _env_file=None).kafka
        )  # type: ignore[call-arg]
        ingest = processes.spawn(
            processes.rapport_command("ingest"), env=env, log=work / "ingest.log"
        )
        consumer_log = work / "consumer.log"
        consumer = processes.spawn(processes.rapport_command("consumer"), env=env, log=consumer_log)
        processes.wait_for_port(port)
        _wait_for_assignment([consumer_log], Settings(_env_file=None).kafka_partitions)  # type: ignore[call-arg]
        yield port, url
    finally:
        for proc in (ingest, consumer, broker):
            if proc is not None:
                processes.stop(proc)


@contextlib.contextmanager
def _up(work: Path, extra_env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """`rapport up --no-demo` as a user starts it (every service on, the embedded broker with
    its journal, SQLite), with the Chatwoot secret set: its ingest HTTP port and database URL."""
    url = f"sqlite:///{work / 'rapport.db'}"
    env = up_env(url, CHATWOOT_WEBHOOK_SECRET=SECRET, **extra_env)
    log = (work / "up.log").open("w")
    up = subprocess.Popen(
        UP_COMMAND,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while "Rapport is ready" not in (work / "up.log").read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rapport up did not start:\n{(work / 'up.log').read_text()}")
            time.sleep(0.1)
        yield int(env["INGEST_HTTP_PORT"]), url
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
        log.close()


def _measure(extra_env: dict[str, str], *, up: bool = False) -> dict[str, Any]:
    total = int(RATE * SECONDS)
    stack = _up if up else _services
    with tempfile.TemporaryDirectory() as tmp, stack(Path(tmp), extra_env) as (port, url):
        engine = make_engine(url)
        try:
            stamp = str(int(time.time()))
            deliveries = [_delivery(n, stamp) for n in range(total)]
            deliveries += deliveries[: total // 10]  # redeliveries: the same ids again
            # Warm up (connections, first records) with 50 events of their own, not counted;
            # they are written before the load starts (the consumers have their partitions).
            warm = [_delivery(total * 2 + n, stamp) for n in range(WARM_UP)]
            asyncio.run(_send(port, warm))
            _wait_written(engine, WARM_UP)
            if shutil.which("wrk"):
                load = _wrk(port, deliveries[:total], Path(tmp))
                distinct = load["distinct_sent"]
            else:
                started = time.perf_counter()
                latencies = sorted(asyncio.run(_send(port, deliveries)))
                load = {
                    "answers": len(latencies),
                    "per_s": round(len(latencies) / (time.perf_counter() - started)),
                    "p50_ms": round(statistics.median(latencies) * 1000, 1),
                    "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
                    "errors": 0,
                    "distinct_answered": total,
                    "distinct_sent": total,
                }
                distinct = total
            _wait_written(engine, distinct + WARM_UP)
            time.sleep(1)  # anything counted twice would show now
            stored = _count(url) - WARM_UP
            rolled = _written(engine) - WARM_UP
        finally:
            engine.dispose()
    once = load["distinct_answered"] <= stored <= load["distinct_sent"] and rolled == stored
    return {
        "benchmark": "webhooks --stack up" if up else "webhooks",
        "stack": "rapport up (every service, journal on)" if up else "rapport ingest + consumer",
        "source": "chatwoot (signed over timestamp.body)",
        "load": "wrk" if shutil.which("wrk") else "httpx asyncio",
        "offered_per_s": RATE,
        **load,
        "distinct_events": distinct,
        "events_stored": stored,
        # Nothing lost (every answered delivery's event is stored; one sent as wrk stopped
        # may be stored unanswered) and nothing counted twice (redeliveries replace; the
        # rollups count each stored event once).
        "each_counted_once": once,
        "summary": {
            "answered_per_s": load["per_s"],
            "p99_ms": load["p99_ms"],
            "errors": load["errors"],
            "each_counted_once": once,
        },
    }
