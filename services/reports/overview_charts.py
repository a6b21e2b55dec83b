"""The Overview's two charts (views/overview.py): what each week earned against the value model,
and each lens per week, this year against last year where there is data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common.i18n import N_
from services.domain.period import Period
from services.reports import charts, plots, reads, ui, value
from services.reports import formatting as fmt
from services.reports.figures import (
    iso_week,
    moment_breakdown,
    weekly_brand,
    weekly_of_kind,
    weekly_support,
)

WITHIN_1H = N_("Answered within 1 h")


def weekly_value_chart(model: value.ValueModel, f: ui.Filters) -> None:
    """What each week earned, stacked by part, against the running total."""
    figure = plots.built("overview.weekly_value", lambda: _weekly_value(model, f), f, model)
    if figure is not None:
        plots.shown(figure)
        st.caption(ui.speaker()._(plots.PART_WEEKS))


def _weekly_value(model: value.ValueModel, f: ui.Filters) -> go.Figure | None:
    sp = ui.speaker()
    _ = sp._
    period = f.period()
    facts = reads.conversations(period, network=f.network, account=f.account)
    daily = reads.daily_by_kind(period, network=f.network, account=f.account)
    moment_facts = reads.moments(period, network=f.network)
    social = {w["week"]: value.social_conversations(w) for w in weekly_support(facts, period)}
    rows = value.weekly_value(
        model,
        social_per_week=social,
        brand_weeks=weekly_brand(daily, period),
        clicks_per_week=weekly_of_kind(daily, "click"),
        moments_per_week=moment_breakdown(moment_facts, period)["per_week"],
    )
    if not rows:
        return None
    currency = model.currency
    frame = pd.DataFrame(rows)
    week_of = _("Week of")
    frame[week_of] = [fmt.week_start(w) for w in frame["week"]]
    parts = {
        "support_savings": _("Support savings"),
        "earned_media_value": _("Earned media"),
        "moments_value": _("Moments"),
    }
    frame = frame.rename(columns=parts)
    figure = px.bar(
        frame,
        x=week_of,
        y=list(parts.values()),
        title=plots.chart_title(
            _("What each week earned ({currency})", currency=model.currency), f
        ),
        labels={"value": model.currency, "variable": ""},
        opacity=0.6,
    )
    figure.add_scatter(
        x=frame[week_of],
        y=frame["cumulative_value"],
        name=_("Year to date"),
        yaxis="y2",
        line={"width": 3},
    )
    figure.update_layout(
        yaxis={"tickformat": "~s"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "title": _("year to date"),
            "rangemode": "tozero",
            "tickmode": "auto",
            "tickformat": "~s",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.25, "title": None},
        xaxis={"title": None, "tickformat": "%-d %b"},
    )
    plots.hover(
        figure,
        lambda name, x, y: plots.said(
            plots.week_of(x, period), name, fmt.money(y, currency, sp, whole=True)
        ),
    )
    plots.part_weeks(figure, list(frame["week"]), period)
    return charts.for_reader(figure, sp)


def trends(f: ui.Filters) -> None:
    """Each lens per week, this year against last year where there is data."""
    sp = ui.speaker()
    _ = sp._
    figures, last_year = plots.built("overview.trends", lambda: _trends(f), f)
    st.subheader(_("Trends: this year against last year"))
    if not last_year:
        st.caption(
            _(
                "No data for {year} in this view, so there is no earlier line to compare with "
                "yet: each chart shows this year alone.",
                year=sp.digits(str(f.year - 1)),
            )
        )
    for column, figure in zip(st.columns(3), figures, strict=True):
        plots.shown(figure, column)
    st.caption(_(plots.PART_WEEKS))


def _trends(f: ui.Filters) -> tuple[list[go.Figure], bool]:
    """The three trend charts, and whether last year had data in this view."""
    sp = ui.speaker()
    _ = sp._
    this = f.period()
    last = Period.of(f.year - 1, dt.date(f.year - 1, 12, 31), this.tz)

    def number(week: str) -> int:
        return int(week.split("-W")[1])

    def weekly(period: Period) -> dict[str, dict[int, float | None]]:
        # This year's reads are the ones the other panels made (the same arguments).
        facts = reads.conversations(period, network=f.network, account=f.account)
        daily = reads.daily_by_kind(period, network=f.network, account=f.account)
        moments = reads.moments(period, network=f.network)
        # Whole weeks only: the year's first days and the week in progress would read as drops
        # (and 29-31 December, ISO week 1 of the next year, would overwrite week 1).
        days = [period.first_day + dt.timedelta(days=d) for d in range(period.elapsed_days)]
        full = set(plots.whole_weeks(sorted({iso_week(day) for day in days}), period))
        return {
            WITHIN_1H: {
                number(w["week"]): w["responded_within_1h_rate"]
                for w in weekly_support(facts, period)
                if w["week"] in full
            },
            N_("Impressions"): {
                number(w["week"]): w["impressions"]
                for w in weekly_brand(daily, period)
                if w["week"] in full
            },
            N_("Moments"): {
                number(w): n
                for w, n in moment_breakdown(moments, period)["per_week"].items()
                if w in full
            },
        }

    now, before = weekly(this), weekly(last)
    # Months, not week numbers, along the bottom: each month at the ISO week of its 1st.
    months = [dt.date(f.year, m, 1) for m in range(1, 13)]
    month_ticks: dict[str, list[Any]] = {
        "tickvals": [d.isocalendar().week for d in months],
        "ticktext": [f"{d:%b}" if sp.language == "en" else fmt.month_abbr(d, sp) for d in months],
    }
    figures = []
    for lens, series in now.items():
        figure = go.Figure()
        for year, points, dash in ((f.year, series, None), (f.year - 1, before[lens], "dot")):
            if not any(points.values()):
                continue  # no data that year: no line at 0 that reads as a bad year
            weeks = sorted(points)
            if lens != WITHIN_1H:  # counts: a week without any is a 0, not a gap
                weeks = list(range(min(weeks), max(weeks) + 1))
            shown = [points.get(w, 0) for w in weeks]
            period = this if year == f.year else last
            figure.add_scatter(
                x=weeks,
                y=shown,
                name=sp.digits(str(year)),
                line={"dash": dash},
                customdata=[
                    plots.said(
                        plots.week_label(f"{year}-W{w:02d}", period),
                        sp.digits(str(year)),
                        fmt.rate(v, sp) if lens == WITHIN_1H else fmt.number(v, sp),
                    )
                    for w, v in zip(weeks, shown, strict=True)
                ],
                hovertemplate=plots.HOVER,
            )
        figure.update_layout(
            title=plots.chart_title(_("{figure} per week", figure=_(lens)), f),
            xaxis={"title": None, "range": [1, 53], "tickmode": "array", **month_ticks},
            yaxis={
                "title": None,
                "rangemode": "tozero",
                "tickformat": ".0%" if lens == WITHIN_1H else "~s",
            },
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            height=300,
            margin={"t": 80, "b": 40},
        )
        figures.append(charts.for_reader(figure, sp))
    return figures, any(any(series.values()) for series in before.values())
