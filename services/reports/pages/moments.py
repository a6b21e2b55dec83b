"""Moments: counts per week and month, breakdowns, and the most recent moments."""

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common import csv_export
from services.common.schema import Moment
from services.reports import queries, ui
from services.reports.figures import moment_breakdown
from services.reports.summary import fmt_rate

with ui.timed_page("moments"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    facts = ui.cached("moments", lambda: queries.moments(ui.engine(), period, network=f.network), f)
    st.title("Meaningful relationship moments")
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
    b.metric("Share with existing customers", fmt_rate(data["existing_customer_share"]))
    c.metric("Proactive (we reached out)", f"{data['by_initiated_by'].get('proactive', 0):,}")
    months = pd.DataFrame(
        {"month": list(data["per_month"]), "moments": list(data["per_month"].values())}
    )
    st.plotly_chart(
        px.bar(months, x="month", y="moments", title="Moments per month (count)"),
        width="stretch",
    )
    weeks = pd.DataFrame(
        {"week": list(data["per_week"]), "moments": list(data["per_week"].values())}
    )
    st.plotly_chart(
        px.bar(weeks, x="week", y="moments", title="Moments per ISO week (count)"),
        width="stretch",
    )
    cols = st.columns(4)
    for col, key, title in zip(
        cols,
        ("by_network", "by_customer_status", "by_outcome", "by_initiated_by"),
        ("By network", "By customer status", "By outcome", "Reactive vs proactive"),
        strict=True,
    ):
        frame = pd.DataFrame({"group": list(data[key]), "moments": list(data[key].values())})
        col.plotly_chart(
            px.pie(frame, names="group", values="moments", title=title), width="stretch"
        )
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
                "date": str(r["occurred_on"])[:10],
                "network": r["network"],
                "people": ", ".join(Moment.decode_list(str(r["people"]))),
                "customer status": str(r["customer_status"]).replace("_", " "),
                "what changed": r["change"],
                "open": f"{ui.moments_url()}/moments/{r['id']}",
            }
            for r in recent
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"open": st.column_config.LinkColumn("moment", display_text="open")},
    )
    st.download_button(
        "Download recent moments (CSV)", csv_export.frame(table), "recent-moments.csv", "text/csv"
    )
