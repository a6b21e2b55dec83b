"""The Overview page in headless Chromium, served by a real `streamlit run`, with real figures."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import processes
from services.common.auth import Role
from services.moments import users
from tests.reports.test_app import seed

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
APP = Path(__file__).parents[2] / "services" / "reports" / "app.py"
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)


def test_overview_renders_the_figures(engine: Engine, db_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        users.create(session, username="exec", password="correct horse battery", role=Role.viewer)
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RAPPORT_TIMEZONE": "UTC",
        "REPORTS_METRICS_PORT": str(processes.free_port()),
    }
    server = processes.spawn(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        log=tmp_path / "streamlit.log",
    )
    try:
        processes.wait_for_port(port, timeout_s=60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            page.get_by_role("textbox", name="Username").fill("exec")
            page.get_by_role("textbox", name="Password").fill("correct horse battery")
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("Is social paying off?").wait_for(timeout=60_000)
            page.get_by_text("5,000").first.wait_for(timeout=30_000)
            page.locator('[data-testid="stMetricValue"]').nth(9).wait_for(timeout=30_000)
            page.wait_for_function(
                "document.querySelectorAll('[data-testid=stSkeleton]').length === 0", timeout=30_000
            )
            shot = tmp_path / "overview.png"
            page.screenshot(path=str(shot), full_page=True)
            body = page.inner_text("body")
            browser.close()
    finally:
        processes.stop(server)
    assert (
        "Customer-support impact" in body
        and "Brand impact" in body
        and "Meaningful moments" in body
    )
    assert "5,000" in body  # impressions
    assert "on pace" in body or "behind" in body  # the goal's traffic light
    assert shot.stat().st_size > 20_000
