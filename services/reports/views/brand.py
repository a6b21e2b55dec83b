"""Brand impact: weekly impressions against the yearly goal, reach, engagement, best times."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.reports import cache, charts, plots, reads, ui
from services.reports import formatting as fmt
from services.reports.figures import (
    brand_figures,
    engagement_heatmap,
    goal_pace,
    kind_sums,
    weekly_brand,
)

sp = ui.speaker()
_ = sp._

with cache.timed_page("brand"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    daily = reads.daily_by_kind(period, network=f.network, account=f.account)
    goals = reads.goals(f.year)
    ui.page_title(_("Brand impact"), f)
    weekly = weekly_brand(daily, period)
    weeks = pd.DataFrame(weekly)
    if weeks.empty:
        ui.empty_state()
        st.stop()
    figures = brand_figures(kind_sums(daily))
    a, b, c, d = st.columns(4)
    a.metric(_("Impressions"), fmt.number(figures["impressions"], sp))
    b.metric(_("Reach"), fmt.number(figures["reach"], sp))
    c.metric(_("Engagement"), fmt.number(figures["engagement"], sp))
    d.metric(_("Engagement rate"), fmt.rate(figures["engagement_rate"], sp))
    ui.completeness_line(f)
    week_of = _("Week of")
    weeks[week_of] = [fmt.week_start(w) for w in weeks["week"]]

    def impressions_chart() -> go.Figure:
        chart = go.Figure()
        # Light bars under a bold line: the year to date must not hide behind the weeks.
        chart.add_bar(
            x=weeks[week_of],
            y=weeks["impressions"],
            name=_("Impressions per week"),
            marker={"opacity": 0.45},
        )
        chart.add_scatter(
            x=weeks[week_of],
            y=weeks["cumulative_impressions"],
            name=_("Year to date"),
            yaxis="y2",
            line={"width": 3},
        )
        # The yearly goal is company-wide: no pace line against a network's or account's slice.
        target = None if f.network or f.account else goals.get("impressions")
        if target:
            pace = goal_pace(target, len(weeks))
            chart.add_scatter(
                x=weeks[week_of],
                y=pace,
                name=_("Goal pace (year to date)"),
                yaxis="y2",
                line={"dash": "dash"},
            )
        chart.update_layout(
            title=plots.chart_title(_("Impressions: each week, and the year to date"), f),
            yaxis={"title": _("per week"), "rangemode": "tozero", "tickformat": "~s"},
            # Its own round ticks (synced to the left axis they fell on 166k, 332k, 499k).
            yaxis2={
                "title": _("year to date"),
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "tickmode": "auto",
                "tickformat": "~s",
                "showgrid": False,
            },
            xaxis={"title": None, "tickformat": "%-d %b"},
            # Under the dates: above the plot it ran into the title on a phone.
            legend={"orientation": "h", "y": -0.18, "yanchor": "top", "x": 0},
            margin={"t": 60},
        )
        plots.hover(
            chart, lambda name, x, y: plots.said(plots.week_of(x, period), name, fmt.number(y, sp))
        )
        plots.part_weeks(chart, list(weeks["week"]), period)
        return chart

    plots.chart("brand.impressions", impressions_chart, f)
    st.caption(_(plots.PART_WEEKS))

    def rates_chart() -> go.Figure:
        rates = px.line(
            weeks[weeks["week"].isin(plots.whole_weeks(list(weeks["week"]), period))],
            x=week_of,
            y="engagement_rate",
            markers=True,
            title=plots.chart_title(_("Engagement rate per week"), f),
            labels={"engagement_rate": _("Engagement rate")},
        )
        rates.update_layout(
            yaxis={"title": None, "tickformat": ".1%", "rangemode": "tozero"},
            xaxis={"title": None, "tickformat": "%-d %b"},
        )
        plots.hover(
            rates,
            lambda _name, x, y: plots.said(
                plots.week_of(x, period), _("Engagement rate"), fmt.rate(y, sp)
            ),
        )
        return rates

    plots.chart("brand.rates", rates_chart, f)
    st.subheader(_("When your audience engages"))

    def heatmap_chart() -> tuple[go.Figure, list[list[int]]]:
        hourly = reads.engagement_by_hour(period, network=f.network, account=f.account)
        grid = engagement_heatmap(hourly, cache.settings().timezone)
        heatmap = px.imshow(
            grid,
            x=[sp.digits(f"{h:02d}") for h in range(24)],
            y=fmt.weekdays(sp),
            aspect="auto",
            labels={
                "x": _("hour ({timezone})", timezone=cache.settings().rapport_timezone),
                "y": _("weekday"),
                "color": _("engagement"),
            },
            title=plots.chart_title(_("Engagement by weekday and hour"), f),
            color_continuous_scale="Blues",
        )
        # "Mon, 14:00-15:00: 1,234 engagements", the hour as the axis writes it.
        heatmap.update_traces(
            customdata=[
                [
                    _(
                        "{day}, {start}-{end}<br>engagement: {value}",
                        day=day,
                        start=sp.digits(f"{h:02d}:00"),
                        end=sp.digits(f"{(h + 1) % 24:02d}:00"),
                        value=fmt.number(grid[d][h], sp),
                    )
                    for h in range(24)
                ]
                for d, day in enumerate(fmt.weekdays(sp))
            ],
            hovertemplate=plots.HOVER,
        )
        return charts.for_reader(heatmap, sp), grid

    heatmap, grid = plots.built("brand.heatmap", heatmap_chart, f)
    plots.shown(heatmap)
    columns = ["week", "impressions", "reach", "engagement", "engagement_rate"]
    ui.csv_download(
        _("Download weekly figures (CSV)"),
        csv_export.records(fmt.for_csv(weekly, [*columns, "cumulative_impressions"], sp)),
        f"brand-weekly-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    heat = pd.DataFrame(
        grid,
        index=pd.Index(fmt.weekdays(sp), name=_("weekday")),
        columns=[f"{h:02d}" for h in range(24)],
    )
    ui.csv_download(
        _("Download heatmap (CSV)"),
        csv_export.frame(heat, index=True),
        "engagement-heatmap.csv",
    )
