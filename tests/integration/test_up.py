"""`rapport up` as `make run` starts it: every endpoint it prints answers, each process's
/metrics carries its own metrics only, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from services.common import processes

PORTS = (
    "EMBEDDED_BROKER_PORT",
    "INGEST_HTTP_PORT",
    "INGEST_GRPC_PORT",
    "MOMENTS_HTTP_PORT",
    "MOMENTS_GRPC_PORT",
    "REPORTS_PORT",
    "CONSUMER_METRICS_PORT",
    "REPORTS_METRICS_PORT",
)
# Each process's own metric families, and one of another process's it must not show.
OWN = {
    "ingest": ("rapport_ingest_requests_total", "rapport_consumer_"),
    "moments": ("rapport_moments_", "rapport_consumer_"),
    "consumer": ("rapport_consumer_records_total", "rapport_ingest_"),
    "reports": ("rapport_reports_", "rapport_consumer_"),
}


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while marker not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} from rapport up; it printed:\n{seen}")
        seen += proc.stdout.readline()
    return seen


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_make_run_prints_every_endpoint_and_each_answers(db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **{name: str(processes.free_port()) for name in PORTS},
        "DATABASE_URL": db_url,
        "SHEETS_SPREADSHEET_ID": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--no-demo"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = _read_until(proc, "reports        http", timeout_s=120)
        printed += _read_until(proc, f"{env['REPORTS_METRICS_PORT']}/metrics", timeout_s=10)
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
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    assert "All stopped." in rest, rest
    assert proc.returncode == 0
