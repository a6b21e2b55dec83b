"""The monthly report's charts as a reader sees them in Chromium: a y-axis of a few round ticks in
the reader's numbers, weeks from 1 January (not the Monday of December before), a week cut short
drawn lighter, and no sideways scrolling on a phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from services.common import i18n
from services.domain.period import Period
from services.ingest.sink import write_batch
from services.reports.figures import week_in_period
from services.reports.monthly import render
from services.reports.report_html import round_ticks
from tests.factories import batch, event
from tests.reports.test_browser import launch, pytestmark  # noqa: F401  (Chromium or skip)

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        pytest.param(1_620_868, [0, 500_000, 1_000_000, 1_500_000, 2_000_000], id="impressions"),
        pytest.param(137.4, [0, 50, 100, 150], id="minutes"),
        pytest.param(8, [0, 2, 4, 6, 8], id="moments"),
        pytest.param(0, [0, 1], id="nothing"),
    ],
)
def test_round_ticks(top: float, ticks: list[float]) -> None:
    assert round_ticks(top) == ticks


@pytest.mark.parametrize(
    ("week", "first", "cut"),
    [
        pytest.param("2026-W01", dt.date(2026, 1, 1), True, id="began-in-december"),
        pytest.param("2026-W02", dt.date(2026, 1, 5), False, id="whole"),
        pytest.param("2026-W49", dt.date(2026, 11, 30), True, id="in-progress"),
    ],
)
def test_a_week_in_the_period(week: str, first: dt.date, cut: bool) -> None:
    assert week_in_period(week, Period.of(2026, dt.date(2026, 11, 30), UTC)) == (first, cut)


def seed(engine: Engine) -> None:
    """Impressions every day from 1 January (a Thursday) to 30 November 2026 (a Monday)."""
    day, events = dt.date(2026, 1, 1), []
    while day <= dt.date(2026, 11, 30):
        events.append(event(kind="impression", count=150_000, occurred_at=f"{day}T10:00:00Z"))
        day += dt.timedelta(days=1)
    write_batch(engine, [batch(*events)], UTC)


CHART_TEXTS = """() => [...document.querySelectorAll('figure')].map(f => ({
    title: f.querySelector('figcaption').textContent,
    texts: [...f.querySelectorAll('svg > text')].map(t => t.textContent),
    light: f.querySelectorAll('rect[fill="#aebcf0"]').length,
    note: (f.querySelector('.note') || {}).textContent || '',
}))"""


def charts_in_chromium(html: str, tmp_path: Path, width: int, height: int) -> tuple[Any, bool]:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(page_file.as_uri())
        charts = page.evaluate(CHART_TEXTS)
        sideways = page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
        browser.close()
    return charts, sideways


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)], ids=["wide", "phone"])
def test_the_weekly_chart_reads_from_1_january_with_round_ticks(
    engine: Engine, tmp_path: Path, width: int, height: int
) -> None:
    seed(engine)
    html = render(engine, month="2026-11", tz=UTC, group_id="rapport")
    charts, sideways = charts_in_chromium(html, tmp_path, width, height)
    weekly = next(c for c in charts if c["title"].startswith("Impressions per week"))
    # 1 January's part week holds 4 days (600,000); a whole week 1,050,000.
    assert weekly["texts"] == ["0", "250,000", "500,000", "750,000", "1,000,000", "1,250,000",
                               "1 Jan", "30 Nov"]  # fmt: skip
    assert "29 Dec" not in " ".join(c for chart in charts for c in chart["texts"])
    # The part weeks: 1-4 January and Monday 30 November alone, lighter and explained.
    assert weekly["light"] == 2
    assert "a week cut short" in weekly["note"]
    assert not sideways


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_ticks_are_in_the_readers_numbers(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    html = render(engine, month="2026-11", tz=UTC, group_id="rapport", language="fi")
    charts, _sideways = charts_in_chromium(html, tmp_path, 1366, 900)
    weekly = charts[0]
    # Finnish groups thousands with a (no-break) space and names 1 January its own way.
    assert [t.replace("\u00a0", " ") for t in weekly["texts"][3:6]] == [
        "750 000",
        "1 000 000",
        "1 250 000",
    ]
    assert weekly["texts"][-2] == i18n.speaker("fi").day_month(dt.date(2026, 1, 1))
