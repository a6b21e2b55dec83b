"""Charts as the reader reads them (services/reports/charts.py): ticks, hover labels and bar texts
in the language's digits, separators and month names; titles, legends and named bars placed for
right to left; English charts as Plotly draws them."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pytest

from services.common.i18n import speaker
from services.reports.charts import for_reader

MONDAYS = [dt.date(2026, 1, 5) + dt.timedelta(weeks=w) for w in range(48)]
# English month names (Turkish abbreviates March and May as English does: "Mar", "May").
ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b")


def weekly() -> go.Figure:
    """A year of weeks, stacked bars in thousands and a rate, as the pages draw them."""
    frame = pd.DataFrame(
        {
            "Week of": MONDAYS,
            "Savings": [1200.0 + 10 * w for w in range(48)],
            "Media": [15000 + 100 * w for w in range(48)],
        }
    )
    figure = px.bar(frame, x="Week of", y=["Savings", "Media"], title="What each week earned")
    figure.add_scatter(x=frame["Week of"], y=[0.25] * 48, name="Rate", yaxis="y2")
    figure.update_layout(
        yaxis={"tickformat": "~s"},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%"},
        xaxis={"tickformat": "%-d %b"},
        legend={"orientation": "h", "x": 0},
    )
    return figure


def named_bars() -> go.Figure:
    """Horizontal bars of named things, with their counts as text (the funnel, the breakdowns)."""
    figure = px.bar(
        pd.DataFrame({"count": [12, 3400, 56789], "network": ["Email", "X", "Instagram"]}),
        x="count",
        y="network",
        orientation="h",
        text_auto=",d",
        log_x=True,
        title="Visits per network",
    )
    figure.update_layout(xaxis={"range": None})
    return figure


def texts(figure: go.Figure) -> list[str]:
    """Every text the reader can meet: ticks, bar texts and what hover labels are made of."""
    spec: dict[str, Any] = json.loads(figure.to_json())
    found: list[str] = []
    for name, axis in spec["layout"].items():
        if name.startswith(("xaxis", "yaxis")):
            found += [str(t) for t in axis.get("ticktext", [])]
    for trace in spec["data"]:
        found += [str(c) for row in trace.get("customdata", []) for c in row]
        text = trace.get("text")
        found += [str(t) for t in text] if isinstance(text, list) else []
    return found


@pytest.mark.parametrize(
    ("language", "thousands", "month"),
    [
        pytest.param("fa", "۱۵ هزار", "ژانویه", id="fa"),
        pytest.param("ar", "١٥ ألف", "يناير", id="ar"),
        pytest.param("fi", "15 t.", "tammi", id="fi"),
        pytest.param("tr", "15 B", "Oca", id="tr"),
    ],
)
def test_ticks_and_hover_labels_in_the_language(language: str, thousands: str, month: str) -> None:
    figure = for_reader(weekly(), speaker(language))
    layout = figure.layout
    shown = [t.replace("\xa0", " ").strip("\u2067\u2069") for t in texts(figure)]
    assert thousands in shown and month in " ".join(layout.xaxis.ticktext)
    assert not [t for t in shown if ENGLISH_MONTHS.search(t)]
    # Every hover and bar text reads what the Speaker wrote, never a d3-formatted value.
    for trace in figure.data:
        assert not re.search(r"%\{[xy][:|}]", trace.hovertemplate or ""), trace.hovertemplate
    if language in ("fa", "ar"):
        assert not [t for t in shown if re.search(r"[0-9]", t)], shown
        # The rate axis: the language's percent, its own digits.
        assert any("٪" in t for t in layout.yaxis2.ticktext)


def test_right_to_left_titles_legends_and_named_bars() -> None:
    figure = for_reader(named_bars(), speaker("ar"))
    layout = figure.layout
    assert (layout.title.x, layout.title.xanchor) == (1, "right")
    assert layout.title.text == "\u2067Visits per network\u2069"  # laid out right to left
    # Named bars grow from their names on the right; the log scale's ticks are round.
    assert layout.xaxis.autorange == "reversed" and layout.yaxis.side == "right"
    ticks = [t.strip("\u2067\u2069") for t in layout.xaxis.ticktext]
    assert ticks[:3] == ["١٠", "١٠٠", "١\xa0ألف"]
    assert figure.data[0].customdata[2][-1] == "٥٦٬٧٨٩"
    # Time still runs left to right; the legend starts at the right.
    weeks = for_reader(weekly(), speaker("fa")).layout
    assert weeks.xaxis.autorange is None and (weeks.legend.x, weeks.legend.xanchor) == (1, "right")
    assert weeks.hoverlabel.align == "right"


def test_left_to_right_languages_keep_their_placement() -> None:
    layout = for_reader(named_bars(), speaker("fi")).layout
    assert layout.xaxis.autorange is None and layout.title.x is None
    assert layout.xaxis.ticktext[:3] == ("10", "100", "1\xa0t.")


def test_english_charts_are_drawn_as_plotly_draws_them() -> None:
    assert for_reader(weekly(), speaker("en")).to_json() == weekly().to_json()


def test_a_pages_own_hover_values_are_written_in_the_language_too() -> None:
    """A hovertemplate of the page's own, with a value per point in customdata and formats
    of its own, reads what the Speaker wrote."""
    figure = go.Figure()
    figure.add_scatter(
        x=MONDAYS[:3],
        y=[0.5, 0.25, 0.125],
        customdata=[1200, 3400, 5600],
        hovertemplate="%{x|%-d %b}: %{y:.1%} of %{customdata:,d}<extra></extra>",
    )
    trace = for_reader(figure, speaker("fa")).data[0]
    assert not re.search(r"%\{(x|y|customdata)[:|}]", trace.hovertemplate), trace.hovertemplate
    shown = [int(i) for i in re.findall(r"%\{customdata\[(\d+)\]\}", trace.hovertemplate)]
    written = [str(row[i]) for row in trace.customdata for i in shown]
    assert "۵۰٫۰٪" in written and "۱٬۲۰۰" in written, written
    assert not [w for w in written if re.search(r"[0-9A-Za-z]", w)], written


@pytest.mark.parametrize("language", ["en", "fa"])
def test_a_long_title_is_drawn_in_lines_a_phone_shows_whole(language: str) -> None:
    """Plotly neither wraps nor shrinks a title: one longer than a phone's width is cut off by
    the chart's edge (tests/reports/test_browser_widths.py sees it in Chromium)."""
    title = "Answered within 1 h and social share of support, per week · Facebook · @acme"
    figure = for_reader(go.Figure(layout={"title": {"text": title}}), speaker(language))
    lines = [line.strip("\u2067\u2069") for line in figure.layout.title.text.split("<br>")]
    assert " ".join(lines) == title and len(lines) == 2
    assert all(len(line) <= 40 for line in lines), lines
    assert figure.layout.title.automargin is True
    short = for_reader(go.Figure(layout={"title": {"text": "Moments per week"}}), speaker("en"))
    assert short.layout.title.text == "Moments per week"
