"""Brand impact: weekly impressions against the yearly goal, reach, engagement, best times."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.reports import queries, ui
from services.reports.figures import WEEKDAYS, brand_figures, engagement_heatmap, weekly_brand
from services.reports.summary import fmt_rate

with ui.timed_page("brand"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    daily = ui.cached(
        "daily_by_kind",
        lambda: queries.daily_by_kind(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    goals = ui.cached("goals", lambda: queries.goals(ui.engine(), f.year), f.year)
    st.title("Brand impact")
    weeks = pd.DataFrame(weekly_brand(daily, period))
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
    d.metric("Engagement rate", fmt_rate(figures["engagement_rate"]))
    ui.completeness_line(f)
    chart = go.Figure()
    chart.add_bar(x=weeks["week"], y=weeks["impressions"], name="impressions per week")
    chart.add_scatter(
        x=weeks["week"],
        y=weeks["cumulative_impressions"],
        name="cumulative impressions",
        yaxis="y2",
    )
    target = goals.get("impressions")
    if target:
        pace = [target / 52 * (i + 1) for i in range(len(weeks))]
        chart.add_scatter(
            x=weeks["week"],
            y=pace,
            name="goal pace (cumulative)",
            yaxis="y2",
            line={"dash": "dash"},
        )
    chart.update_layout(
        title="Weekly impressions and the cumulative line against the yearly goal",
        yaxis={"title": "impressions per week"},
        yaxis2={"title": "cumulative impressions", "overlaying": "y", "side": "right"},
        xaxis={"title": "ISO week"},
        legend={"orientation": "h"},
    )
    st.plotly_chart(chart, width="stretch")
    st.plotly_chart(
        px.line(
            weeks,
            x="week",
            y="engagement_rate",
            markers=True,
            title="Engagement rate per week (engagement ÷ impressions)",
            labels={"engagement_rate": "rate (0-1)", "week": "ISO week"},
        ),
        width="stretch",
    )
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
            title="Engagement by weekday and hour",
            color_continuous_scale="Blues",
        ),
        width="stretch",
    )
    st.download_button(
        "Download weekly figures (CSV)", csv_export.frame(weeks), "brand-weekly.csv", "text/csv"
    )
    heat = pd.DataFrame(
        grid,
        index=pd.Index(list(WEEKDAYS), name="weekday"),
        columns=[f"{h:02d}" for h in range(24)],
    )
    st.download_button(
        "Download heatmap (CSV)",
        csv_export.frame(heat, index=True),
        "engagement-heatmap.csv",
        "text/csv",
    )
