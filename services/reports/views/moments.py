"""Moments: counts per week and month, breakdowns, and the most recent moments."""

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common import csv_export
from services.common.schema import Moment
from services.common.vocabulary import network_label
from services.reports import formatting as fmt
from services.reports import queries, ui
from services.reports.figures import moment_breakdown

with ui.timed_page("moments"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    facts = ui.cached("moments", lambda: queries.moments(ui.engine(), period, network=f.network), f)
    ui.page_title("Meaningful relationship moments", f)
    if f.account:
        st.caption(
            "Moments belong to a network, not to one of your accounts: the account filter does "
            "not narrow them."
        )
    data = moment_breakdown(facts, period)
    if not data["count"]:
        st.info(f"No moments logged for this period yet. Log them at {ui.moments_url()}.")
        st.stop()
    a, b, c = st.columns(3)
    a.metric("Moments", f"{data['count']:,}")
    b.metric("Share with existing customers", fmt.rate(data["existing_customer_share"]))
    c.metric("Proactive (we reached out)", f"{data['by_initiated_by'].get('proactive', 0):,}")
    months = pd.DataFrame(
        {
            "month": [fmt.month(m) for m in data["per_month"]],
            "moments": list(data["per_month"].values()),
        }
    )
    chart = px.bar(months, x="month", y="moments", title=ui.chart_title("Moments per month", f))
    chart.update_layout(xaxis={"title": None, "type": "category"}, yaxis={"title": "moments"})
    st.plotly_chart(chart, width="stretch")
    weeks = pd.DataFrame(
        {
            "week of": [fmt.week_start(w) for w in data["per_week"]],
            "moments": list(data["per_week"].values()),
        }
    )
    chart = px.bar(weeks, x="week of", y="moments", title=ui.chart_title("Moments per week", f))
    chart.update_layout(xaxis={"title": None, "tickformat": "%-d %b"}, yaxis={"title": "moments"})
    st.plotly_chart(chart, width="stretch")
    # Breakdowns as labelled bars, two to a row: every label readable on any width.
    breakdowns = (
        ("by_network", "By network"),
        ("by_customer_status", "By customer status"),
        ("by_outcome", "By outcome"),
        ("by_initiated_by", "Reactive or proactive"),
    )
    for pair in (breakdowns[:2], breakdowns[2:]):
        for column, (key, title) in zip(st.columns(2), pair, strict=True):
            counts = sorted(data[key].items(), key=lambda item: item[1])
            frame = pd.DataFrame(
                {"group": [fmt.word(g) for g, _ in counts], "moments": [n for _, n in counts]}
            )
            chart = px.bar(
                frame,
                x="moments",
                y="group",
                orientation="h",
                title=ui.chart_title(title, f),
                text="moments",
            )
            chart.update_layout(
                yaxis={"title": None, "type": "category", "automargin": True},
                xaxis={"title": None},
                height=80 + 34 * max(len(frame), 1),
                margin={"l": 10, "r": 10, "t": 50, "b": 10},
            )
            column.plotly_chart(chart, width="stretch")
    st.subheader("Most recent moments in this period")
    recent = ui.cached(
        "recent_moments",
        lambda: queries.recent_moments(
            ui.engine(), period.first_day, period.as_of, network=f.network, limit=15
        ),
        f,
    )
    table = pd.DataFrame(
        [
            {
                "Open": f"{ui.moments_url()}/moments/{r['id']}",
                "Date": fmt.day(dt.date.fromisoformat(str(r["occurred_on"])[:10])),
                "Network": network_label(str(r["network"])),
                "People": ", ".join(Moment.decode_list(str(r["people"]))),
                "Customer status": fmt.word(str(r["customer_status"])),
                "What changed": r["change"],
            }
            for r in recent
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"Open": st.column_config.LinkColumn("Moment", display_text="open")},
    )
    ui.csv_download(
        "Download these moments (CSV)",
        csv_export.frame(table),
        f"moments-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
