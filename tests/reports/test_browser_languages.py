"""The Overview and the monthly report in Persian and Finnish in headless Chromium, at a desktop
and a phone width: the page's direction, figures in the language, and screenshots to look at
(written to RAPPORT_SCREENSHOTS when set, else the test's own directory)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import i18n
from services.domain import accounts
from services.domain.auth import Role
from services.reports.monthly import render
from tests.reports.test_app import seed
from tests.reports.test_browser import CHROMIUM, PASSWORD, launch, settled, sites
from tests.reports.test_delivery import seed as seed_month

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
WIDTHS = (1366, 390)


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RAPPORT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["fa", "fi"])
def test_the_overview_in_the_accounts_language(
    engine: Engine, db_url: str, tmp_path: Path, language: str
) -> None:
    from playwright.sync_api import sync_playwright

    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
        accounts.set_language(session, "exec", language)
    sp = i18n.speaker(language)
    title = sp._("Is social paying off? {year}", year=sp.digits(str(dt.date.today().year)))
    folder = shots(tmp_path)
    with sites(db_url, tmp_path) as (reports, _moments), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        page.goto(reports, timeout=60_000)
        page.locator("a.rapport-login").click()
        page.fill("#username", "exec")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.get_by_text(title).wait_for(timeout=60_000)
        page.get_by_text(sp.number(5000)).first.wait_for(timeout=30_000)
        trends = page.get_by_text(sp._("Trends: this year against last year"))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(1500)  # the columns and charts lay themselves out again
            settled(page)
            page.screenshot(path=str(folder / f"overview-{language}-{width}.png"))
            trends.scroll_into_view_if_needed()  # the page scrolls inside Streamlit's own block
            page.wait_for_timeout(1000)
            page.screenshot(path=str(folder / f"overview-{language}-{width}-charts.png"))
            page.locator("[data-testid=stMain]").evaluate("main => main.scrollTo(0, 0)")
        direction = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=stMain]')).direction"
        )
        body = page.inner_text("body")
        browser.close()
    assert direction == ("rtl" if language == "fa" else "ltr")
    assert sp._("Brand impact") in body and "Brand impact" not in body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["fa", "fi"])
def test_the_monthly_report_in_the_language(engine: Engine, tmp_path: Path, language: str) -> None:
    from playwright.sync_api import sync_playwright

    seed_month(engine)
    html = render(engine, month="2026-03", tz=ZoneInfo("UTC"), group_id="r", language=language)
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    folder = shots(tmp_path)
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        page.goto((tmp_path / "report.html").as_uri())
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(folder / f"report-{language}-{width}.png"), full_page=True)
        direction = page.evaluate("getComputedStyle(document.body).direction")
        # Nothing wider than the phone: no table or card runs off the page.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert direction == ("rtl" if language == "fa" else "ltr")
    assert overflow <= WIDTHS[1]
