"""What a person reads on every page #30 touched, in Chromium at 1366x900 and on a 390x844 phone:
no page scrolls sideways, no chart toolbar over a phone's chart titles, every chart's tooltip
written in words (no field names, no raw floats), whole-unit money for executives, a change of
zero without a green arrow, the moments list without a "sheet off" on every row (the sidebar's
accounts named with their networks: test_app.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.domain import accounts
from services.domain.auth import Role
from services.ingest.sink import write_batch
from services.reports import value
from tests.factories import batch, event
from tests.reports.test_app import seed
from tests.reports.test_browser import PASSWORD, launch, pytestmark, settled, sign_in, sites

__all__ = ["pytestmark"]  # Chromium or skip, as every browser test
WIDTHS = [pytest.param(1366, 900, id="wide"), pytest.param(390, 844, id="phone")]
PAGES = ["", "support", "brand", "outcomes", "moments", "share_of_voice", "goals", "settings"]
# Nothing of the page may be wider than the window: the document and Streamlit's main block.
SIDEWAYS = """() => [document.documentElement, document.querySelector('[data-testid=stMain]')]
    .filter(e => e && e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.dataset.testid || e.tagName) + ' ' + e.scrollWidth + '>' + e.clientWidth)"""
# Every trace of every chart: its tooltip template and the texts it shows.
TOOLTIPS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd =>
    gd.data.map(t => ({template: t.hovertemplate || '', texts: (t.customdata || []).flat(2)})))"""
# Every chart title that reaches past its chart's sides (Plotly neither wraps nor shrinks one:
# the SVG cuts it off).
TITLES_CUT = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => {
    const title = gd.querySelector('.gtitle');
    if (!title) return [];
    const t = title.getBoundingClientRect(), g = gd.getBoundingClientRect();
    return t.left < g.left - 1 || t.right > g.right + 1 ? [title.textContent] : [];
})"""
RAW = re.compile(r"=|occurred_on|\d\.\d{4,}|%\{[xyz]")  # value=46487.600000000006, %{y}


def seeded(engine: Engine) -> None:
    """test_app's year, a value model whose total has cents (5,000 impressions at a CPM of 8.55:
    €42.75), and one account name on two networks."""
    year = dt.date.today().year
    seed(engine, year)
    value.set_model(engine, year=year, actor="t", currency="EUR", cpm=8.55, program_cost=1000)
    write_batch(
        engine,
        [
            batch(
                event(
                    kind="like",
                    network="facebook",
                    account="Acme",
                    occurred_at=f"{year}-02-03T10:00Z",
                ),
                event(
                    kind="like",
                    network="linkedin",
                    account="Acme",
                    occurred_at=f"{year}-02-03T11:00Z",
                ),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)


def visit(page: Any, address: str) -> None:
    """The page once its script has run (Streamlit marks its app `notRunning`) and its charts
    are drawn."""
    page.goto(address, timeout=60_000)
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=60_000)
    settled(page)
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
        ".every(c => c.querySelector('.js-plotly-plot .main-svg'))",
        timeout=30_000,
    )


@pytest.mark.timeout(400)  # nine pages, each drawn and read
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_every_page_reads_at_both_widths(
    engine: Engine, db_url: str, tmp_path: Path, width: int, height: int
) -> None:
    from playwright.sync_api import sync_playwright

    seeded(engine)
    phone = width < 600
    seen: dict[str, dict[str, Any]] = {}
    with sites(db_url, tmp_path) as (reports, moments), sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(
            viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
        )
        page = context.new_page()
        page.goto(reports, timeout=60_000)
        sign_in(page, reports, "lead", opened=True)
        for path in PAGES:
            visit(page, reports + path)
            seen[path or "overview"] = {
                "sideways": page.evaluate(SIDEWAYS),
                "toolbars": page.locator(".modebar-container").evaluate_all(
                    "els => els.filter(e => getComputedStyle(e).display !== 'none').length"
                ),
                "tooltips": page.evaluate(TOOLTIPS),
                "titles cut": page.evaluate(TITLES_CUT),
                "text": page.inner_text("body"),
            }
            page.screenshot(path=str(tmp_path / f"{path or 'overview'}-{width}.png"))
            if path == "settings":  # amounts as people write them, not 1000.00
                cost = page.get_by_role("textbox", name="Programme cost for the year")
                seen["settings"]["programme cost"] = cost.input_value()
        page.goto(moments + "/", timeout=30_000)
        page.locator("#list-title").wait_for(timeout=30_000)
        seen["moments site"] = {
            "sideways": page.evaluate(SIDEWAYS),
            "toolbars": 0,
            "tooltips": [],
            "titles cut": [],
            "text": page.inner_text("body"),
        }
        browser.close()
    for name, found in seen.items():
        assert found["sideways"] == [], (name, found["sideways"])
        assert found["titles cut"] == [], (name, found["titles cut"])
        if phone:
            assert found["toolbars"] == 0, name  # no toolbar over a chart's title
        for trace in found["tooltips"]:
            assert re.fullmatch(r"%\{customdata(\[0\])?\}<extra></extra>", trace["template"]), (
                name,
                trace,
            )
            assert not [t for t in trace["texts"] if RAW.search(str(t))], (name, trace)
    assert sum(len(found["tooltips"]) for found in seen.values()) >= 15  # the charts were drawn
    overview = seen["overview"]["text"]
    # Executives' money in whole units: €42.75 of earned media, the €49.90 order.
    assert "€43" in overview and "€42.75" not in overview
    assert "€50" in overview and "€49.90" not in overview
    # A weekly chart says what its lighter bars and missing line ends are.
    assert "A week or month cut short" in seen["brand"]["text"]
    # The funnel on plain scales, not a log axis.
    assert "log scale" not in seen["outcomes"]["text"]
    assert seen["settings"]["programme cost"] == "1,000"
    assert "sheet off" not in seen["moments site"]["text"]
