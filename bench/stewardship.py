"""Backup, verify, restore, forget and retention on a large SQLite database
(BENCH_STEWARDSHIP_EVENTS, 10 million by default): each against copying the file, and the
consumer's kind of writes while `rapport backup` or `rapport people forget` runs beside them
(each a process of its own, as in production) against the same writes alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import text

from bench.reports import YEAR, _fill
from services.common.db import make_engine
from services.common.processes import rapport_command
from services.domain import backup, restore
from services.domain.migrate import migrate
from services.ingest import retention
from services.ingest.events import Rejection, to_proto, validate
from services.ingest.sink import write_batch

EVENTS = int(os.environ.get("BENCH_STEWARDSHIP_EVENTS", "10000000"))
UTC = ZoneInfo("UTC")
WRITE_BATCH = 1_000  # events per transaction of the writer beside the backup


def _event(event_id: str, actor: str | None = None, day: int = 1) -> dict[str, Any]:
    data = {
        "event_id": event_id,
        "occurred_at": f"{YEAR}-11-{day:02d}T10:00:00Z",
        "network": "twitter",
        "kind": "like",
        "count": 1,
        "account": "@rapport",
    }
    return data | ({"actor": actor} if actor else {})


def _batches(events: list[dict[str, Any]]) -> ingest_pb2.InteractionBatch:
    protos = []
    for data in events:
        found = validate(data)
        assert not isinstance(found, Rejection)
        protos.append(to_proto(found))
    return ingest_pb2.InteractionBatch(events=protos, ingested_at_us=time.time_ns() // 1000)


def _batch(start: int) -> ingest_pb2.InteractionBatch:
    return _batches([_event(f"w{i}", day=1 + i % 20) for i in range(start, start + WRITE_BATCH)])


class Writer:
    """The consumer's kind of write (1,000 events a transaction), as fast as it goes."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.written = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            write_batch(self.engine, [_batch(self.written)], UTC)
            self.written += WRITE_BATCH

    def rate_during(self, seconds: float | None = None, work: Any = None) -> tuple[float, float]:
        """Events/s written while `work` runs (or for `seconds`), and how long that took."""
        before, started = self.written, time.perf_counter()
        if work is not None:
            work()
        else:
            time.sleep(seconds or 0)
        took = time.perf_counter() - started
        return (self.written - before) / took, took


def _rapport(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "RAPPORT_TIMEZONE": "UTC"}
    env.pop("INGEST_JOURNAL_DIR", None)
    subprocess.run(rapport_command(*args), env=env, check=True, capture_output=True)


def _erased(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT rows FROM person_erasure")).scalar_one()
    finally:
        engine.dispose()
    return int(json.loads(rows)["interaction_event"])


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return round(time.perf_counter() - started, 2)


def run(argv: list[str]) -> dict[str, Any]:
    if argv[:2] == ["--stack", "up"]:
        return run_stack()
    Path("var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir="var", prefix="bench-stewardship-") as tmp:
        work = Path(tmp)
        db = work / "big.db"
        url = f"sqlite:///{db}"
        migrate(url)
        fill_s = _timed(lambda: _fill(db, EVENTS))
        size_mb = round(db.stat().st_size / 1e6)
        copy_s = _timed(lambda: shutil.copyfile(db, work / "copy.db"))
        (work / "copy.db").unlink()
        out = work / "idle.backup.tar"
        backup_s = _timed(lambda: backup.take(url, out, say=lambda _line: None))
        archive_mb = round(out.stat().st_size / 1e6)
        verify_s = _timed(lambda: backup.verify(out))
        restored = f"sqlite:///{work / 'restored.db'}"
        restore_s = _timed(
            lambda: restore.restore(restored, out, replace=False, say=lambda _l: None)
        )
        out.unlink()
        (work / "restored.db").unlink()
        # Writes beside a backup: the same writer alone, then while a backup runs.
        writer = Writer(url)
        writer.thread.start()
        try:
            alone, _ = writer.rate_during(seconds=20)
            loaded = work / "loaded.backup.tar"
            # As in production: the backup is a process of its own (rapport up runs one).
            beside, backup_loaded_s = writer.rate_during(
                work=lambda: _rapport(url, "backup", "--out", str(loaded))
            )
            # A person with 1,000 events among the others (and a look-alike with as many).
            jane = [_event(f"jane{i}", "@jane_doe") for i in range(1_000)]
            fan = [_event(f"fan{i}", "@jane_doe_fan") for i in range(1_000)]
            write_batch(writer.engine, [_batches(jane + fan)], UTC)
            beside_forget, forget_s = writer.rate_during(
                work=lambda: _rapport(url, "people", "forget", "--person", "@jane_doe", "--yes")
            )
        finally:
            writer.stop.set()
            writer.thread.join()
            writer.engine.dispose()
        forgotten = _erased(url)
        loaded_manifest = backup.verify(loaded)
        loaded.unlink()
        engine = make_engine(url)
        try:
            deleted: list[int] = []
            retention_s = _timed(
                lambda: deleted.append(
                    retention.apply(engine, dt.date(YEAR, 7, 1), UTC, say=lambda _line: None)
                )
            )
        finally:
            engine.dispose()
    return {
        "benchmark": "stewardship",
        "events": EVENTS,
        "database": "sqlite",
        "database_mb": size_mb,
        "fill_seconds": fill_s,
        "copy_file_seconds": copy_s,
        "backup_seconds": backup_s,
        "backup_mb": archive_mb,
        "verify_seconds": verify_s,
        "restore_seconds": restore_s,
        "writes_alone_events_per_s": round(alone),
        "writes_during_backup_events_per_s": round(beside),
        "backup_under_writes_seconds": round(backup_loaded_s, 2),
        "backup_under_writes_events": loaded_manifest.rows["interaction_event"],
        "forget_seconds": round(forget_s, 2),
        "forget_rows_changed": forgotten,
        "writes_during_forget_events_per_s": round(beside_forget),
        "retention_deleted": deleted[0],
        "retention_seconds": retention_s,
        "summary": {
            "backup_s": backup_s,
            "backup_vs_file_copy": round(backup_s / copy_s, 1),
            "restore_s": restore_s,
            "writes_during_backup_vs_alone": round(beside / alone, 2),
            "forget_s": round(forget_s, 2),
            "writes_during_forget_vs_alone": round(beside_forget / alone, 2),
            "retention_s": retention_s,
        },
    }


STACK_CLIENTS = 2


def run_stack() -> dict[str, Any]:
    """Ingest's answers while `rapport people forget` runs: `rapport up --no-demo` on the large
    database (once its daily backup is written), clients posting batches of 1,000 events as
    fast as they are answered; accepted events/s for 20 s alone, during the forget, and after."""
    from bench.ingest import UP_COMMAND, up_env

    Path("var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir="var", prefix="bench-stewardship-") as tmp:
        work = Path(tmp)
        db = work / "rapport.db"
        url = f"sqlite:///{db.resolve()}"
        migrate(url)
        _fill(db, EVENTS)
        engine = make_engine(url)
        jane = [_event(f"jane{i}", "@jane_doe") for i in range(1_000)]
        write_batch(engine, [_batches(jane)], UTC)
        engine.dispose()
        env = up_env(url)
        up = subprocess.Popen(
            UP_COMMAND, cwd=work, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert up.stdout is not None
        printed = ""
        while "Daily backup written" not in printed:
            line = up.stdout.readline()
            if not line and up.poll() is not None:
                raise RuntimeError(f"rapport up stopped:\n{printed}")
            printed += line
        token = printed.split("Authorization: Bearer ", 1)[1].split("'", 1)[0]
        threading.Thread(target=up.stdout.read, daemon=True).start()  # keep its pipe drained
        accepted: list[tuple[float, int]] = []
        refused: list[tuple[float, int]] = []  # answers other than 202, with their status
        stop = threading.Event()

        def client(n: int) -> None:
            base = f"http://127.0.0.1:{env['INGEST_HTTP_PORT']}"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                batch = 0
                while not stop.is_set():
                    events = [_event(f"c{n}-{batch}-{i}", day=1 + i % 20) for i in range(1_000)]
                    answer = http.post("/v1/interactions", content=orjson.dumps(events))
                    if answer.status_code == 202:
                        accepted.append((time.perf_counter(), answer.json()["accepted"]))
                    else:
                        refused.append((time.perf_counter(), answer.status_code))
                    batch += 1

        clients = [threading.Thread(target=client, args=(n,)) for n in range(STACK_CLIENTS)]
        try:
            for thread in clients:
                thread.start()
            time.sleep(5)  # warm
            t0 = time.perf_counter()
            time.sleep(20)
            t1 = time.perf_counter()
            _rapport(url, "people", "forget", "--person", "@jane_doe", "--yes")
            t2 = time.perf_counter()
            time.sleep(10)
            t3 = time.perf_counter()
        finally:
            stop.set()
            for thread in clients:
                thread.join()
            up.send_signal(signal.SIGINT)
            up.wait(timeout=120)

    def rate(start: float, end: float) -> float:
        return sum(n for at, n in accepted if start <= at < end) / (end - start)

    alone, during, after = rate(t0, t1), rate(t1, t2), rate(t2, t3)
    return {
        "benchmark": "stewardship_stack_up",
        "events": EVENTS,
        "forget_seconds": round(t2 - t1, 2),
        "ingest_alone_events_per_s": round(alone),
        "ingest_during_forget_events_per_s": round(during),
        "ingest_after_events_per_s": round(after),
        "requests_not_accepted": len(refused),
        "requests_not_accepted_during_forget": sum(t1 <= at < t2 for at, _status in refused),
        "summary": {
            "forget_s": round(t2 - t1, 2),
            "ingest_during_forget_vs_alone": round(during / alone, 2),
        },
    }
