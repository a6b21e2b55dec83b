"""How a page draws a chart: its title naming the slice, its tooltips as sentences in the
reader's words and units, weeks cut short drawn lighter (bars) or left out (lines), and every
chart shown through `plot` (its ticks and placement in the reader's language: charts.py)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from services.common.i18n import N_
from services.domain.period import Period
from services.reports import cache, charts
from services.reports import formatting as fmt
from services.reports.figures import iso_week, week_in_period
from services.reports.ui import Filters, speaker

T = TypeVar("T")


def chart_title(title: str, f: Filters) -> str:
    """A chart's title naming the slice it shows (Plotly reads a few HTML tags: escaped)."""
    return f"{title} · {html.escape(f.slice_name(speaker()))}" if f.sliced else title


# A tooltip is the sentence `hover` wrote for its point, nothing of Plotly's own (field names,
# raw floats such as value=46487.600000000006).
HOVER = "%{customdata}<extra></extra>"


def hover(figure: Any, said: Callable[[str, Any, Any], str]) -> None:
    """Every trace's tooltip in people's words and units: `said(trace name, x, y)` for each
    point, its figures written by the reader's speaker."""
    for trace in figure.data:
        trace.customdata = [
            "" if pd.isna(y) else said(trace.name, x, y)  # no point is drawn there
            for x, y in zip(trace.x, trace.y, strict=True)
        ]
        trace.hovertemplate = HOVER


def said(when: str | None, what: str, value: str) -> str:
    """One point of a chart as a tooltip says it: when (if a time), then what and how much."""
    if when is None:
        return speaker()._("{what}: {value}", what=what, value=value)
    return speaker()._("{when}<br>{what}: {value}", when=when, what=what, value=value)


def week_of(x: Any, period: Period) -> str:
    """The tooltip's name of the week a chart drew at its Monday `x` (a date or a timestamp)."""
    return week_label(iso_week(pd.Timestamp(x).date()), period)


def week_label(week: str, period: Period) -> str:
    """A week as a tooltip names it: "Week of 5 Jan", and a week cut short says so ("Week from
    1 Jan (its first days in the year)", "Week of 30 Nov, so far")."""
    sp = speaker()
    first, cut = week_in_period(week, period)
    day = fmt.week_day(first, sp)
    if not cut:
        return sp._("Week of {day}", day=day)
    if first == period.first_day:
        return sp._("Week from {day} (its first days in the year)", day=day)
    return sp._("Week of {day}, so far", day=day)


def part_weeks(figure: Any, weeks: list[str], period: Period) -> None:
    """Bars of a week the year's start or the as-of day cuts short drawn lighter: fewer days,
    not a drop. `weeks`: the ISO weeks of each bar trace's points, in order."""
    cut = [week_in_period(w, period)[1] for w in weeks]
    for trace in figure.data:
        if trace.type == "bar":
            base = trace.marker.opacity if isinstance(trace.marker.opacity, float) else 1.0
            trace.marker.opacity = [base * (0.35 if c else 1.0) for c in cut]


def whole_weeks(weeks: list[str], period: Period) -> list[str]:
    """The weeks a line draws: a week cut short would read as a drop, so lines leave it out."""
    return [w for w in weeks if not week_in_period(w, period)[1]]


PART_WEEKS = N_(
    "Weeks run Monday to Sunday. A week or month cut short (the year's first days, the one in "
    "progress) is drawn lighter in bars and left out of lines, so it does not read as a drop."
)


def plot(figure: go.Figure, place: Any = None) -> None:
    """A chart at full width (in `place`, a column, else the page), its ticks, hover labels,
    title and legend as the reader reads them (charts.for_reader)."""
    (place or st).plotly_chart(charts.for_reader(figure, speaker()), width="stretch")


def chart(
    name: str, build: Callable[[], go.Figure], f: Filters, *key: Any, place: Any = None
) -> None:
    """`plot` of the figure `build` makes, made once per data version, reader's language,
    sidebar filters and `key` (whatever else the figure depends on), then shared by every
    visit (cache.built): a warm visit builds no Plotly figure."""
    sp = speaker()
    shown(built(name, lambda: charts.for_reader(build(), sp), f, *key), place)


def built(name: str, build: Callable[[], T], f: Filters, *key: Any) -> T:
    """What `build` makes for this reader's language and the sidebar's filters (cache.built)."""
    return cache.built(name, build, f.year, f.as_of, f.network, f.account, speaker().language, *key)


def shown(figure: go.Figure, place: Any = None) -> None:
    """A figure already made for the reader (charts.for_reader), at full width."""
    (place or st).plotly_chart(figure, width="stretch")
