"""The reports app in headless Chromium, served by a real `streamlit run`, with real figures."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import accounts, processes
from services.common.auth import Role
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.models import MomentCreate
from tests.factories import batch, event
from tests.factories_moments import moment
from tests.reports.test_app import seed

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
APP = Path(__file__).parents[2] / "services" / "reports" / "app.py"
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)


@contextmanager
def logged_in(db_url: str, tmp_path: Path, username: str) -> Iterator[Any]:
    """`streamlit run` on the app and a Chromium page logged in as `username`."""
    from playwright.sync_api import sync_playwright

    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RAPPORT_TIMEZONE": "UTC",
        "REPORTS_METRICS_PORT": str(processes.free_port()),
    }
    server = processes.spawn(
        [
            *(sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port)),
            *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
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
            page.get_by_role("textbox", name="Username").fill(username)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("Is social paying off?").wait_for(timeout=60_000)
            yield page
            browser.close()
    finally:
        processes.stop(server)


def settled(page: Any) -> None:
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stSkeleton]').length === 0", timeout=30_000
    )


def test_overview_renders_the_figures(engine: Engine, db_url: str, tmp_path: Path) -> None:
    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
    with logged_in(db_url, tmp_path, "exec") as page:
        page.get_by_text("5,000").first.wait_for(timeout=30_000)
        page.locator('[data-testid="stMetricValue"]').nth(9).wait_for(timeout=30_000)
        settled(page)
        shot = tmp_path / "overview.png"
        page.screenshot(path=str(shot), full_page=True)
        body = page.inner_text("body")
    assert (
        "Customer-support impact" in body
        and "Brand impact" in body
        and "Meaningful moments" in body
    )
    assert "5,000" in body  # impressions
    assert "on pace" in body or "behind" in body  # the goal's traffic light
    assert shot.stat().st_size > 20_000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_support_figure_opens_the_conversations_behind_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """The seed has two conversations: c1 on X answered in 20 min, c2 by email, unanswered."""
    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    expected = {
        "All of them": ("2 conversations", ""),
        "The answered ones": ("1 conversation", "answered"),
        "Not answered yet": ("1 conversation", "not answered yet"),
        "Answered within 1 h": ("1 conversation", "answered within 1 h"),
        "On social networks": ("1 conversation", "on social networks"),
        "By email": ("1 conversation", "by email"),
        "The SLA breaches": ("1 conversation", "first-response SLA breached"),
        "Email: its conversations": ("1 conversation", "email"),
    }
    with logged_in(db_url, tmp_path, "lead") as page:
        for label, (count, narrowed) in expected.items():
            page.get_by_test_id("stSidebarNavLink").filter(has_text="Support impact").click()
            page.get_by_text("Response and resolution times").wait_for(timeout=30_000)
            settled(page)
            page.get_by_test_id("stPageLink").filter(has_text=label).first.click()
            page.get_by_text("Support conversations").wait_for(timeout=30_000)
            page.get_by_text(count, exact=True).wait_for(timeout=30_000)
            caption = page.get_by_test_id("stCaptionContainer").first.inner_text()
            assert narrowed in caption, (label, caption)
        page.screenshot(path=str(tmp_path / "conversations.png"), full_page=True)


# Each payload would set window.__xss if the browser ever ran it.
HOSTILE = {
    "account": '<img src=x onerror="window.__xss=1">',
    "change": "<script>window.__xss=2</script> **renewed** [x](javascript:window.__xss=3)",
    "people": '<svg onload="window.__xss=4">',
    "username": "<b onmouseover=window.__xss=5>eve</b>[x](javascript:window.__xss=6)",
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hostile_text_stays_inert_on_every_page(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Stored XSS through every field the reports show: account names from ingest, moment text
    and people, and the viewer's own username; no page runs any of it."""
    year = dt.date.today().year
    write_batch(
        engine,
        [
            batch(
                event(kind="impression", count=900, occurred_at=f"{year}-01-05T09:00:00Z"),
                event(
                    kind="like",
                    count=7,
                    account=HOSTILE["account"],
                    occurred_at=f"{year}-01-05T10:00:00Z",
                ),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(
                moment(
                    occurred_on=f"{year}-01-06",
                    change=HOSTILE["change"],
                    people=[HOSTILE["people"]],
                )
            ),
            actor="maria",
        )
        accounts.create(session, username=HOSTILE["username"], password=PASSWORD, role=Role.viewer)
    dialogs: list[str] = []
    seen: dict[str, str] = {}
    with logged_in(db_url, tmp_path, HOSTILE["username"]) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for title in ("Overview", "Support impact", "Brand impact", "Moments", "Goals"):
            page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
            page.wait_for_timeout(500)
            settled(page)
            seen[title] = page.inner_text("body")
            assert page.evaluate("window.__xss") is None, f"script ran on {title}"
    assert dialogs == []
    # The username is shown, as the text it is.
    assert HOSTILE["username"] in seen["Overview"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_settings_saves_business_hours_and_the_value_model_in_the_browser(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from services.common.service_levels import load_schedules
    from services.reports import value

    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    with logged_in(db_url, tmp_path, "lead") as page:
        page.get_by_role("link", name="Settings").click()
        page.get_by_text("Business hours").first.wait_for(timeout=30_000)
        hours = page.get_by_role("textbox", name="Opening hours")
        hours.fill("mon-fri 09:00-12:00,13:00-17:00")
        hours.press("Enter")
        page.get_by_role("button", name="Save business hours").click()
        page.get_by_text("Business hours saved").wait_for(timeout=30_000)
        settled(page)
        page.wait_for_timeout(1000)  # the rerun after saving replaces the page's elements
        currency = page.get_by_role("textbox", name="Currency (ISO 4217)")
        currency.fill("EUR")
        currency.press("Enter")
        page.get_by_role("button", name="Save value model").last.click()
        page.get_by_text(f"Value model for {dt.date.today().year} saved").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "settings.png"), full_page=True)
    with Session(engine) as session:
        stored = load_schedules(session).default
    assert stored is not None and stored.hours_text == "mon-fri 09:00-12:00,13:00-17:00"
    model = value.load(engine, dt.date.today().year)
    assert model is not None and model.currency == "EUR"
