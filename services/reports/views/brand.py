"""Brand impact: weekly impressions against the yearly goal, reach, engagement, best times."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.reports import formatting as fmt
from services.reports import queries, ui
from services.reports.figures import WEEKDAYS, brand_figures, engagement_heatmap, weekly_brand

with ui.timed_page("brand"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    daily = ui.cached(
        "daily_by_kind",
        lambda: queries.daily_by_kind(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    goals = ui.cached("goals", lambda: queries.goals(ui.engine(), f.year), f.year)
    ui.page_title("Brand impact", f)
    weekly = weekly_brand(daily, period)
    weeks = pd.DataFrame(weekly)
    if weeks.empty:
        ui.empty_state()
        st.stop()
    totals: dict[str, int] = {}
    for _day, kind, count in daily:
        totals[kind] = totals.get(kind, 0) + count
    figures = brand_figures(totals)
    a, b, c, d = st.columns(4)
    a.metric("Impressions", f"{figures['impressions']:,}")
    b.metric("Reach", f"{figures['reach']:,}")
    c.metric("Engagement", f"{figures['engagement']:,}")
    d.metric("Engagement rate", fmt.rate(figures["engagement_rate"]))
    ui.completeness_line(f)
    weeks["week of"] = [fmt.week_start(w) for w in weeks["week"]]
    chart = go.Figure()
    # Light bars under a bold line: the year to date must not hide behind the weeks.
    chart.add_bar(
        x=weeks["week of"],
        y=weeks["impressions"],
        name="Impressions per week",
        marker={"opacity": 0.45},
    )
    chart.add_scatter(
        x=weeks["week of"],
        y=weeks["cumulative_impressions"],
        name="Year to date",
        yaxis="y2",
        line={"width": 3},
    )
    # The yearly goal is company-wide: no pace line against a network's or account's slice.
    target = None if f.network or f.account else goals.get("impressions")
    if target:
        pace = [target / 52 * (i + 1) for i in range(len(weeks))]
        chart.add_scatter(
            x=weeks["week of"],
            y=pace,
            name="Goal pace (year to date)",
            yaxis="y2",
            line={"dash": "dash"},
        )
    chart.update_layout(
        title=ui.chart_title("Impressions: each week, and the year to date", f),
        yaxis={"title": "per week", "rangemode": "tozero", "tickformat": "~s"},
        # Its own round ticks (synced to the left axis they fell on 166k, 332k, 499k).
        yaxis2={
            "title": "year to date",
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
    st.plotly_chart(chart, width="stretch")
    rates = px.line(
        weeks,
        x="week of",
        y="engagement_rate",
        markers=True,
        title=ui.chart_title("Engagement rate per week", f),
    )
    rates.update_layout(
        yaxis={"title": None, "tickformat": ".1%", "rangemode": "tozero"},
        xaxis={"title": None, "tickformat": "%-d %b"},
    )
    st.plotly_chart(rates, width="stretch")
    st.subheader("When your audience engages")
    hourly = ui.cached(
        "engagement_by_hour",
        lambda: queries.engagement_by_hour(
            ui.engine(), period, network=f.network, account=f.account
        ),
        f,
    )
    grid = engagement_heatmap(hourly, ui.settings().timezone)
    st.plotly_chart(
        px.imshow(
            grid,
            x=[f"{h:02d}" for h in range(24)],
            y=list(WEEKDAYS),
            aspect="auto",
            labels={
                "x": f"hour ({ui.settings().rapport_timezone})",
                "y": "weekday",
                "color": "engagement",
            },
            title=ui.chart_title("Engagement by weekday and hour", f),
            color_continuous_scale="Blues",
        ),
        width="stretch",
    )
    columns = ["week", "impressions", "reach", "engagement", "engagement_rate"]
    ui.csv_download(
        "Download weekly figures (CSV)",
        csv_export.records(fmt.for_csv(weekly, [*columns, "cumulative_impressions"])),
        f"brand-weekly-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    heat = pd.DataFrame(
        grid,
        index=pd.Index(list(WEEKDAYS), name="weekday"),
        columns=[f"{h:02d}" for h in range(24)],
    )
    ui.csv_download(
        "Download heatmap (CSV)",
        csv_export.frame(heat, index=True),
        "engagement-heatmap.csv",
    )
