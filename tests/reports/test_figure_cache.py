"""Charts made once per data version and language (cache.built): a warm visit shows the same
figure object, a commit or another language makes a new one, and a chart made from figures
shown "as of" is not kept."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from tests.reports.test_app import APP, app_env, consumer_commits, run_page

__all__ = ["app_env"]  # the fixture, used by name
BRAND = "views/brand.py"
YEAR_TO_DATE = "Impressions: each week, and the year to date"


def tooltips(at: AppTest, title: str) -> list[str]:
    """Every tooltip of the chart titled `title` (the sentences plots.hover wrote)."""
    for chart in at.get("plotly_chart"):
        spec: dict[str, Any] = json.loads(chart.proto.spec)
        shown = json.dumps(spec["layout"].get("title", {}), ensure_ascii=False)
        if title in shown.replace("<br>", " "):  # a long title is drawn in lines
            said = [text for trace in spec["data"] for text in trace.get("customdata") or []]
            # plotly.express keeps a point's data as a list of one
            return [str(t[0]) if isinstance(t, list) else str(t) for t in said]
    raise AssertionError(f"no chart titled {title!r}")


def brand(language: str | None = None) -> AppTest:
    """The Brand page alone (no Overview first), as a person opening its address."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "manager", "language": language}
    at.switch_page(BRAND)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Any:
    from services.reports import cache

    monkeypatch.setattr(cache, "_FRESHNESS", cache._Freshness())
    monkeypatch.setattr(cache, "VERSION_CHECK_S", 0.0)
    return cache


def test_a_chart_is_made_once_per_data_version_and_language(
    engine: Engine, app_env: None, fresh_cache: Any
) -> None:
    consumer_commits(engine, 5000, next_offset=1)
    run_page(BRAND)
    made = dict(fresh_cache._FRESHNESS.built)
    assert any(key[0] == "brand.impressions" for key in made)
    run_page(BRAND)  # warm: the same figures, none made again
    assert fresh_cache._FRESHNESS.built.keys() == made.keys()
    assert all(fresh_cache._FRESHNESS.built[key] is value for key, value in made.items())
    at = brand("fi")
    finnish = set(fresh_cache._FRESHNESS.built) - set(made)
    assert {key[0] for key in finnish} >= {"brand.impressions", "brand.rates", "brand.heatmap"}
    assert "fi" in next(iter(finnish))
    assert any("5\xa0000" in text for text in tooltips(at, "Näyttökerrat: viikoittain"))


def test_charts_follow_the_consumers_commits(
    engine: Engine, app_env: None, fresh_cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fresh_cache, "STALE_OK_S", 0.0)
    consumer_commits(engine, 5000, next_offset=1)
    assert any("5,000" in text for text in tooltips(run_page(BRAND), YEAR_TO_DATE))
    consumer_commits(engine, 7000, next_offset=2)  # no cache cleared: the version moved
    assert any("12,000" in text for text in tooltips(brand(), YEAR_TO_DATE))


def test_a_chart_made_from_figures_shown_as_of_is_not_kept(
    engine: Engine, app_env: None, fresh_cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fresh_cache, "STALE_OK_S", 60.0)
    consumer_commits(engine, 5000, next_offset=1)
    brand()
    consumer_commits(engine, 7000, next_offset=2)
    at = brand()  # the figures before the commit, said "as of", while new ones are computed
    assert any(c.value.startswith("Figures as of") for c in at.sidebar.caption)
    assert not any("12,000" in text for text in tooltips(at, YEAR_TO_DATE))
    deadline = time.monotonic() + 30
    while fresh_cache._FRESHNESS.refreshing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("12,000" in text for text in tooltips(brand(), YEAR_TO_DATE))
