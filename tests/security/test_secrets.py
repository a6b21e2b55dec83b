"""Passwords and tokens never reach a log: a real moments process at DEBUG, every login path;
a real ingest process at DEBUG, secrets in query strings."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from services.common import processes
from services.common.config import Settings
from tests.support.services import service_env

ADMIN_PASSWORD = "admin-pass-Zq81xv"
WRONG_PASSWORD = "wrong-pass-Kd02mm"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_passwords_and_tokens_never_reach_the_logs(
    db_url: str, tmp_path: Path, log_format: str
) -> None:
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": log_format,
        "MOMENTS_HTTP_PORT": str(port),
        "MOMENTS_GRPC_PORT": str(processes.free_port()),
        "MOMENTS_METRICS_PORT": str(processes.free_port()),
        "SHEETS_SPREADSHEET_ID": "",
    }
    created = subprocess.run(
        processes.rapport_command(
            "users", "create", "--username", "root", "--role", "admin", "--password", ADMIN_PASSWORD
        ),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    log_file = tmp_path / "moments.log"
    server = processes.spawn(processes.rapport_command("moments"), env=env, log=log_file)
    secrets = [ADMIN_PASSWORD, WRONG_PASSWORD]
    try:
        processes.wait_for_port(port, timeout_s=30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
            for password in (WRONG_PASSWORD, ADMIN_PASSWORD):
                csrf = _csrf(web.get("/login").text)
                web.post(
                    "/login",
                    data={"username": "root", "password": password, "csrf_token": csrf},
                )
            csrf = _csrf(web.get("/users").text)
            page = web.post(
                "/users", data={"username": "sam", "role": "viewer", "csrf_token": csrf}
            )
            one_time = re.search(r"One-time password: <code>([^<]+)</code>", page.text)
            page = web.post("/tokens", data={"name": "crm", "role": "manager", "csrf_token": csrf})
            token = re.search(r"<code>([^<]+)</code>\. Copy it now", page.text)
            assert one_time and token, page.text
            secrets += [one_time.group(1), token.group(1)]
            bearer = {"Authorization": f"Bearer {token.group(1)}"}
            assert web.get("/api/v1/moments", headers=bearer).status_code == 200
            bad = {"Authorization": "Bearer not-a-token-Hj3k9"}
            assert web.get("/api/v1/moments", headers=bad).status_code == 401
            secrets.append("not-a-token-Hj3k9")
    finally:
        processes.stop(server)
    logged = created.stdout + created.stderr + log_file.read_text()
    if log_format == "json":
        # One JSON object per line, with the fields a pipeline indexes; uvicorn's access log
        # too, its request as fields.
        records = [json.loads(line) for line in log_file.read_text().splitlines() if line]
        assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
        access = [r for r in records if r["logger"] == "uvicorn.access"]
        assert any(r["method"] == "POST" and r["path"] == "/tokens" for r in access), access[:3]
        assert all(isinstance(r["status"], int) for r in access)
    # The log is there and says what happened (so the search below is not vacuous).
    assert "POST /tokens" in logged and "login failed for 'root'" in logged
    assert "login: 'root' signed in" in logged
    for secret in secrets:
        assert secret not in logged, f"a secret reached the log: {secret[:4]}..."


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_secrets_in_query_strings_never_reach_the_ingest_logs(
    settings: Settings, db_url: str, tmp_path: Path, log_format: str
) -> None:
    """Meta's handshake carries the verify token in its query string, and a client may put any
    token there: a real ingest process at DEBUG logs each request with its query redacted."""
    verify, guessed, access = "verify-Tq83Zm", "guess-Hh27Kx", "access-Zz90Qa"
    port = processes.free_port()
    env = service_env(
        settings,
        INGEST_HTTP_PORT=str(port),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
        META_VERIFY_TOKEN=verify,
        META_APP_SECRET="app-secret-Lw72Rt",
        X_CONSUMER_SECRET="x-secret-Pp19Dd",
    )
    log_file = tmp_path / "ingest.log"
    server = processes.spawn(processes.rapport_command("ingest"), env=env, log=log_file)
    try:
        processes.wait_for_port(port, timeout_s=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
            for token, status in ((verify, 200), (guessed, 403)):
                params = {"hub.mode": "subscribe", "hub.challenge": "1158201444",
                          "hub.verify_token": token}  # fmt: skip
                assert web.get("/v1/webhooks/meta", params=params).status_code == status
            crc = {"crc_token": "Zm9vYmFy", "access_token": access}
            assert web.get("/v1/webhooks/x", params=crc).status_code == 200
    finally:
        processes.stop(server)
    logged = log_file.read_text()
    # The requests are there, their other parameters too (so the search below is not vacuous).
    assert "/v1/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444" in logged
    assert "hub.verify_token=***" in logged and "access_token=***" in logged
    if log_format == "json":
        records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
        paths = [r["path"] for r in records if r["logger"] == "uvicorn.access"]
        assert any(p.startswith("/v1/webhooks/meta?") for p in paths), paths
    for secret in (verify, guessed, access, "app-secret-Lw72Rt", "x-secret-Pp19Dd"):
        assert secret not in logged, f"a secret reached the log: {secret[:4]}..."
