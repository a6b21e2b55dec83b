"""`rapport up` as `make run` starts it: every endpoint it prints answers, each process's
/metrics carries its own metrics only, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from services.common import processes
from services.common.db import make_engine
from services.domain import backup
from services.up import PORT_VARIABLES

# Each process's own metric families, and one of another process's it must not show.
OWN = {
    "ingest": ("rapport_ingest_requests_total", "rapport_consumer_"),
    "moments": ("rapport_moments_", "rapport_consumer_"),
    "consumer": ("rapport_consumer_records_total", "rapport_ingest_"),
    "reports": ("rapport_reports_", "rapport_consumer_"),
    "backups": ("rapport_backup_newest_age_seconds", "rapport_consumer_"),
    "surveys": ("rapport_moments_survey_backlog_answers", "rapport_consumer_"),  # the relay's
}


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while marker not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} from rapport up; it printed:\n{seen}")
        seen += proc.stdout.read(1)  # not readline: the demo question ends without a newline
    return seen


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_make_run_prints_every_endpoint_and_each_answers(db_url: str, tmp_path: Path) -> None:
    """On a terminal, as `make run` is: every endpoint answers; then Ctrl-C while the demo
    question waits for an answer stops everything (input() used to swallow it)."""
    env = _up_env(db_url)
    proc = _start_up(tmp_path, env, terminal=True)
    try:
        printed = _read_until(proc, "reports        http", timeout_s=120)
        printed += _read_until(proc, f"{env['SURVEY_RELAY_METRICS_PORT']}/metrics", timeout_s=10)
        metrics = dict(re.findall(r"^  (\w+) +(http://\S+/metrics)$", printed, re.M))
        assert set(metrics) == set(OWN), printed
        for name, url in metrics.items():
            own, foreign = OWN[name]
            deadline = time.monotonic() + 60
            while True:  # the reports process starts Streamlit last
                try:
                    status, body = _get(url)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            assert status == 200, (name, url)
            assert own in body, f"{name}: {own} missing from {url}"
            assert foreign not in body, f"{name} shows another process's metrics ({foreign})"
        pages = re.findall(r"(http://127\.0\.0\.1:\d+/)\s", printed)
        assert len(pages) >= 2, printed
        for url in pages:
            assert _get(url)[0] == 200, url
        _read_until(proc, "Stream a demo year of interactions now? [y/N] ", timeout_s=30)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    assert "All stopped." in rest, rest
    assert proc.returncode == 0


def _up_env(db_url: str) -> dict[str, str]:
    """`rapport up` on free ports, the embedded broker, no Sheets."""
    env = {
        **os.environ,
        **{name: str(processes.free_port()) for name in PORT_VARIABLES},
        "DATABASE_URL": db_url,
        "SHEETS_SPREADSHEET_ID": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


def _start_up(
    tmp_path: Path, env: dict[str, str], *, terminal: bool = False
) -> subprocess.Popen[str]:
    """`rapport up`; with `terminal`, its input is a pseudo-terminal, as under `make run` (it
    then asks about the demo), else no input and --no-demo."""
    stdin: int = subprocess.DEVNULL
    if terminal:
        stdin, _terminal = os.openpty()  # the other end stays open: no EOF at the question
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", *([] if terminal else ["--no-demo"])],
        cwd=tmp_path,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _post(url: str, token: str, events: list[dict[str, object]]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=json.dumps(events).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_up_restarts_a_dead_child_and_a_killed_broker_loses_nothing_acknowledged(
    db_url: str, tmp_path: Path
) -> None:
    """Under `rapport up`, SIGKILL the broker while a client streams, then the consumer: each is
    restarted (the log says why), and every event answered 202 is in the database once."""
    env = {**_up_env(db_url), "RAPPORT_EVENT_RETENTION_DAYS": "1000"}  # nothing that old here
    proc = _start_up(tmp_path, env)
    acknowledged: list[str] = []
    stop = threading.Event()
    try:
        printed = _read_until(proc, "Authorization: Bearer", timeout_s=120)
        token = re.search(r"rpt_[A-Za-z0-9_-]+", printed)
        assert token, printed
        url = f"http://127.0.0.1:{env['INGEST_HTTP_PORT']}/v1/interactions"

        def stream() -> None:
            n = 0
            while not stop.is_set():
                batch = [
                    {
                        "event_id": f"up-{n}-{i}",
                        "occurred_at": "2026-03-02T10:00:00Z",
                        "network": "x",
                        "kind": "like",
                    }
                    for i in range(100)
                ]
                n += 1
                if _post(url, token[0], batch) == 202:
                    acknowledged.extend(e["event_id"] for e in batch)  # type: ignore[misc]
                else:
                    time.sleep(0.2)

        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 3_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = processes.children(proc.pid)
        os.kill(children["broker"], signal.SIGKILL)
        _read_until(proc, "broker restarted", timeout_s=60)
        at_restart = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) < at_restart + 1_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(processes.children(proc.pid)["consumer"], signal.SIGKILL)
        said = _read_until(proc, "consumer restarted", timeout_s=60)
        assert "consumer was killed by SIGKILL; restarting it in 1 s" in said, said
        stop.set()
        streamer.join(30)
        assert len(acknowledged) >= at_restart + 1_000, "ingest never accepted again"
        engine = make_engine(db_url)
        deadline = time.monotonic() + 90
        while True:
            with engine.connect() as conn:
                ids = [r[0] for r in conn.execute(text("SELECT event_id FROM interaction_event"))]
            # Not a count: a batch answered 503 may still have been written (its records reached
            # the journal), and would make the count whole while an acknowledged one is on its way.
            if set(acknowledged) <= set(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        engine.dispose()
        assert set(acknowledged) <= set(ids), f"{len(set(acknowledged) - set(ids))} lost"
        assert len(ids) == len(set(ids))
        # Its daily backup, taken once it was ready (there was none), whole.
        (daily,) = (tmp_path / "var" / "backups").glob(f"rapport-*{backup.SUFFIX}")
        assert backup.verify(daily).schema_revision is not None
        # And its nightly retention, run once at start: nothing was that old.
        assert "Deleted 0 raw events before" in (tmp_path / "var/log/retention.log").read_text()
    finally:
        stop.set()
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    assert "All stopped." in rest, rest


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_up_gives_up_on_a_child_that_keeps_dying_and_says_why(db_url: str, tmp_path: Path) -> None:
    env = _up_env(db_url) | {"RAPPORT_RESTART_DELAY_S": "0.25"}  # 0.25, 0.5, 1, 2 s
    with socket.socket() as taken:  # the moments port is taken: moments exits at every start
        taken.bind(("127.0.0.1", int(env["MOMENTS_HTTP_PORT"])))
        taken.listen()
        proc = _start_up(tmp_path, env)
        out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1, out
    assert "moments exited with code 3; restarting it in 0.25 s" in out, out  # uvicorn's code
    assert "restarting it in 2 s" in out, out
    assert "moments exited with code 3 5 times within 10 minutes; not restarting it again" in out
    assert "address already in use" in out.lower(), out  # the end of its log, said at once
    assert "All stopped." in out
