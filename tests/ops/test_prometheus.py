"""promtool on every /metrics page and the alert rules; a real Prometheus scraping the services."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy.engine import Engine

from services.common import processes
from services.common.config import Settings, get_settings
from services.domain.backup import BackupCollector
from services.ingest.app import create_app as ingest_app
from services.moments.app import create_app as moments_app
from services.reports.metrics import register_year_figures
from tests.factories import event
from tests.ingest.helpers import AUTH, wait_until

ROOT = Path(__file__).parents[2]
PROMETHEUS = ROOT / "dashboards" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: apt-get install prometheus (.ci/run does)"
)


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert PROMTOOL
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, timeout=60, check=False
    )


@needs_promtool
def test_alert_rules_check_and_unit_tests() -> None:
    checked = promtool("check", "rules", str(PROMETHEUS / "rules" / "rapport.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(PROMETHEUS / "rules" / "rapport_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = promtool("check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_every_metrics_page_passes_promtool(
    settings: Settings, engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = []
    with TestClient(ingest_app(settings, engine=engine)) as client:
        client.post("/v1/interactions", json=[event(), event(kind="poke")], headers=AUTH)
        pages.append(("ingest", client.get("/metrics").content))
    with TestClient(
        moments_app(
            settings.model_copy(update={"moments_grpc_port": 0}), engine=engine, sync_sheets=False
        )
    ) as client:
        client.get("/healthz")
        pages.append(("moments", client.get("/metrics").content))
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    register_year_figures()
    pages.append(("consumer and reports registry", generate_latest(REGISTRY)))
    get_settings.cache_clear()
    for name, page in pages:
        assert b"# HELP" in page
        result = promtool("check", "metrics", stdin=page)
        assert result.returncode == 0, (name, result.stdout + result.stderr)
    assert b"rapport_reports_impressions_year" in pages[-1][1]


def test_dashboards_are_built_and_use_the_provisioned_datasource(tmp_path: Path) -> None:
    import yaml

    board_dir = ROOT / "dashboards" / "grafana" / "dashboards"
    committed = {p.name: p.read_text() for p in board_dir.glob("*.json")}
    subprocess.run(["python", str(ROOT / "dashboards" / "build.py")], check=True, timeout=60)
    assert {p.name: p.read_text() for p in board_dir.glob("*.json")} == committed, (
        "dashboards/build.py writes different JSON: run it and commit the result"
    )
    provisioned = yaml.safe_load(
        (ROOT / "dashboards/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    uid = provisioned["datasources"][0]["uid"]
    assert {"rapport-overview.json", "rapport-business.json", "rapport-ingest.json"} <= set(
        committed
    )
    for name, text in committed.items():
        board = json.loads(text)
        assert board["panels"], name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == uid, (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid
                assert target["expr"].strip()


@pytest.fixture
def served_apps(settings: Settings, engine: Engine) -> Iterator[dict[str, int]]:
    servers = []
    ports = {}
    apps = {
        "rapport-ingest": ingest_app(settings, engine=engine),
        "rapport-moments": moments_app(
            settings.model_copy(update={"moments_grpc_port": 0}), engine=engine, sync_sheets=False
        ),
    }
    for job, app in apps.items():
        port = processes.free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        processes.wait_for_port(port)
        servers.append(server)
        ports[job] = port
    yield ports
    for server in servers:
        server.should_exit = True


def query(base: str, promql: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        body = json.loads(response.read())
    assert body["status"] == "success"
    return body["data"]["result"]  # type: ignore[no-any-return]


@pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus missing: apt-get install prometheus"
)
def test_real_prometheus_scrapes_the_services(served_apps: dict[str, int], tmp_path: Path) -> None:
    ingest_port = served_apps["rapport-ingest"]
    import httpx

    httpx.post(
        f"http://127.0.0.1:{ingest_port}/v1/interactions", json=[event()], headers=AUTH, timeout=30
    )
    scrape = "\n".join(
        f"  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]"
        for job, port in served_apps.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape}\n")
    port = processes.free_port()
    proc = processes.spawn(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        log=tmp_path / "prometheus.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        processes.wait_for_port(port, timeout_s=30)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                up = query(base, 'up{job=~"rapport-.*"}')
                accepted = query(base, "rapport_ingest_events_accepted_total")
            except OSError:
                up, accepted = [], []
            if len(up) == 2 and all(r["value"][1] == "1" for r in up) and accepted:  # type: ignore[index]
                break
            time.sleep(0.5)
        assert len(up) == 2, up
        assert any(float(r["value"][1]) >= 1 for r in accepted)  # type: ignore[index]
        assert query(base, "rapport_moments_requests_total")
    finally:
        processes.stop(proc)


def test_reports_serves_metrics_from_process_start(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A freshly started `rapport reports` is scrapable before anyone opens a page; with
    LOG_FORMAT=json its log, Streamlit's and uvicorn's own loggers included, is JSON lines."""
    import json
    import os

    engine.dispose()
    ports = {"REPORTS_PORT": processes.free_port(), "REPORTS_METRICS_PORT": processes.free_port()}
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOG_FORMAT": "json",
        **{k: str(v) for k, v in ports.items()},
    }
    reports = processes.spawn(
        processes.rapport_command("reports"), env=env, log=tmp_path / "reports.log"
    )
    try:
        processes.wait_for_port(ports["REPORTS_METRICS_PORT"], timeout_s=60)
        url = f"http://127.0.0.1:{ports['REPORTS_METRICS_PORT']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read()
        assert b"# HELP rapport_reports_page_render_duration_seconds" in page
        assert b"rapport_reports_impressions_year" in page
        processes.wait_for_port(ports["REPORTS_PORT"], timeout_s=60)  # the app itself runs too
        # Streamlit binds its socket before uvicorn says it started: wait for that line.
        wait_until(
            lambda: "Uvicorn server started" in (tmp_path / "reports.log").read_text(),
            what="the reports server's start line",
        )
    finally:
        processes.stop(reports)
    log = (tmp_path / "reports.log").read_text()
    assert "Traceback" not in log
    # Streamlit prints "Stopping..." to stdout on SIGTERM (cli_util.print_to_cli, not a logger).
    lines = [line for line in log.splitlines() if line.strip() and line.strip() != "Stopping..."]
    records = [json.loads(line) for line in lines]
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "streamlit.web.server.starlette.starlette_server"} <= loggers, log


def dashboard_expressions() -> list[tuple[str, str]]:
    board_dir = ROOT / "dashboards" / "grafana" / "dashboards"
    return [
        (f"{path.name}: {panel['title']}", target["expr"])
        for path in sorted(board_dir.glob("*.json"))
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]


def check_promql(expressions: list[tuple[str, str]], tmp_path: Path) -> str:
    """promtool's own parser over each expression (as recording rules): '' when all parse."""
    import yaml

    rules = [
        {"record": f"rapport:dashboard_check:{n}", "expr": e}
        for n, (_, e) in enumerate(expressions)
    ]
    path = tmp_path / "dashboard_exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = promtool("check", "rules", str(path))
    return "" if checked.returncode == 0 else (checked.stdout + checked.stderr).decode()


@needs_promtool
def test_every_dashboard_query_parses_and_names_real_metrics(tmp_path: Path) -> None:
    import re

    import services.ingest.consumer_metrics
    import services.ingest.metrics
    import services.moments.metrics  # noqa: F401

    register_year_figures()
    expressions = dashboard_expressions()
    assert len(expressions) >= 30
    assert check_promql(expressions, tmp_path) == ""
    # A misspelt metric parses: every rapport_* name must be one the services declare (the
    # backups' are served by `rapport up`, from its collector).
    backups = BackupCollector(tmp_path)
    REGISTRY.register(backups)
    try:
        declared = set(REGISTRY._names_to_collectors)
    finally:
        REGISTRY.unregister(backups)
    rules = (PROMETHEUS / "rules" / "rapport.yml").read_text()
    for where, expr in [*expressions, ("alert rules", rules)]:
        for name in set(re.findall(r"\brapport_[a-z0-9_]+", expr)):
            assert name in declared, f"{where}: {name} is not a metric any service exports"


@needs_promtool
def test_the_promql_check_catches_a_typo(tmp_path: Path) -> None:
    broken = [("typo", "sum(rate(rapport_ingest_requests_total[5m])")]
    assert "parse error" in check_promql(broken, tmp_path)
