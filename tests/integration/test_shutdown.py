"""SIGTERM with a request half-way through its body: the request finishes, the process exits 0,
and what it acknowledged is kept (ingest: flushed to Kafka and stored; moments: saved)."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings
from tests.factories import event
from tests.factories_moments import moment
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until
from tests.support.services import service_env
from tests.support.sheets_server import SheetsServer


def _half_sent(port: int, path: str, body: bytes) -> socket.socket:
    """A POST whose headers and first half of the body are sent; the rest is still to come."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body[: len(body) // 2])
    return conn


def _finish(conn: socket.socket, body: bytes) -> int:
    conn.sendall(body[len(body) // 2 :])
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    conn.close()
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("service", ["ingest", "moments"])
def test_sigterm_lets_the_request_in_flight_finish(
    service: str, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    port = processes.free_port()
    variable = f"{service.upper()}_HTTP_PORT"
    proc = processes.spawn(
        processes.rapport_command(service),
        env=service_env(settings, **{variable: str(port)}),
        log=tmp_path / f"{service}.log",
    )
    processes.wait_for_port(port, timeout_s=30)
    if service == "ingest":
        path, body = "/v1/interactions", json.dumps([event() for _ in range(1_000)]).encode()
    else:
        path, body = "/api/v1/moments", json.dumps(moment()).encode()
    conn = _half_sent(port, path, body)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the server is shutting down now, with our request open
    status = _finish(conn, body)
    # uvicorn finishes the shutdown, then re-raises SIGTERM so the supervisor sees why it ended.
    assert proc.wait(30) in (0, -signal.SIGTERM)
    log = (tmp_path / f"{service}.log").read_text()
    assert "Application shutdown complete" in log and "Traceback" not in log, log[-2000:]
    assert status == (202 if service == "ingest" else 201)
    if service == "ingest":  # acknowledged means flushed to Kafka: the consumer finds all of it
        with running_consumer(settings, engine):
            wait_until(lambda: event_count(engine) == 1_000, what="the acknowledged events")
    else:
        assert scalar(engine, "SELECT COUNT(*) FROM moment") == 1


def test_reports_and_the_sheet_worker_stop_promptly_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    """The two processes that take no requests to finish: they leave at once, without a trace."""
    sheets = SheetsServer().start()
    env = service_env(
        settings,
        GOOGLE_APPLICATION_CREDENTIALS=str(sheets.credentials_file(tmp_path)),
        SHEETS_SPREADSHEET_ID=sheets.spreadsheet_id,
        GOOGLE_SHEETS_API_URL=sheets.url,
        REPORTS_PORT=str(processes.free_port()),
        REPORTS_METRICS_PORT=str(processes.free_port()),
    )
    try:
        worker = processes.spawn(
            processes.rapport_command("sheets", "sync"), env=env, log=tmp_path / "sync.log"
        )
        reports = processes.spawn(
            processes.rapport_command("reports"), env=env, log=tmp_path / "reports.log"
        )
        processes.wait_for_port(int(env["REPORTS_PORT"]), timeout_s=60)
        wait_until(lambda: "Syncing" in (tmp_path / "sync.log").read_text(), what="the worker")
        for proc, name in ((worker, "sync"), (reports, "reports")):
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) in (0, -signal.SIGTERM), name
            log = (tmp_path / f"{name}.log").read_text()
            assert "Traceback" not in log, log[-2000:]
    finally:
        sheets.stop()
