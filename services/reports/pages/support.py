"""Support impact: conversations, answers, response and resolution times, social versus email."""

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common import csv_export
from services.reports import queries, ui
from services.reports.figures import weekly_support
from services.reports.summary import fmt_rate, fmt_seconds

with ui.timed_page("support"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    facts = ui.cached(
        "conversations",
        lambda: queries.conversations(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    st.title("Customer-support impact")
    # The headline and per-network figures come from the SQL the Overview uses (queries.support);
    # only the weekly trend is computed here, over the conversations' facts.
    figures = ui.cached(
        "support",
        lambda: queries.support(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    if not figures["conversations"]:
        ui.empty_state()
        st.stop()
    a, b, c, d = st.columns(4)
    a.metric("Conversations", f"{figures['conversations']:,}")
    b.metric("Answered", f"{figures['answered']:,}")
    c.metric("Answered within 1 h", fmt_rate(figures["responded_within_1h_rate"]))
    d.metric("Social share", fmt_rate(figures["social_share"]))
    # Every figure opens the conversations behind it, with the same period and filters.
    with a:
        ui.conversations_link("All of them")
    with b:
        ui.conversations_link("The answered ones", only="answered")
        ui.conversations_link("Not answered yet", only="unanswered")
    with c:
        ui.conversations_link("Answered within 1 h", only="within_1h")
    with d:
        ui.conversations_link("On social networks", only="social")
        ui.conversations_link("By email", only="email")
    ui.completeness_line(f)
    st.markdown("**Response and resolution times** (calendar time · business hours)")
    times = pd.DataFrame(
        [
            {
                "figure": label,
                "calendar time": fmt_seconds(figures[key]),
                "business hours": fmt_seconds(figures[key.replace("_s", "_business_s", 1)]),
            }
            for label, key in (
                ("Median first response", "median_first_response_s"),
                ("p90 first response", "p90_first_response_s"),
                ("Median resolution", "median_resolution_s"),
            )
        ]
    )
    st.dataframe(times, hide_index=True, width="stretch")
    x, y = st.columns(2)
    with x:
        ui.conversations_link("The first responses behind these times", only="answered")
    with y:
        ui.conversations_link("The resolutions behind these times", only="resolved")
    a, b, c = st.columns(3)
    a.metric(
        "First-response SLA met",
        fmt_rate(figures["first_response_sla_met_rate"]),
        help="answered within the target, counted in business hours (Settings)",
    )
    b.metric("SLA breaches", f"{figures['sla_breaches']:,}")
    with a:
        ui.conversations_link("Where the SLA was met", sla="met")
    with b:
        ui.conversations_link("The SLA breaches", sla="breached")
    weeks = pd.DataFrame(weekly_support(facts, period))
    weeks["median_first_response_min"] = weeks["median_first_response_s"] / 60
    st.plotly_chart(
        px.line(
            weeks,
            x="week",
            y="median_first_response_min",
            markers=True,
            title="Median first response per week (minutes)",
            labels={"median_first_response_min": "minutes", "week": "ISO week"},
        ),
        width="stretch",
    )
    st.plotly_chart(
        px.bar(
            weeks,
            x="week",
            y=["responded_within_1h_rate", "social_share"],
            barmode="group",
            title="Answered within 1 h and social share of support per week (0-1)",
            labels={"value": "share (0-1)", "week": "ISO week", "variable": "figure"},
        ),
        width="stretch",
    )

    def network_support(network: str) -> dict[str, Any]:
        return ui.cached(
            "support",
            lambda: queries.support(ui.engine(), period, network=network, account=f.account),
            f,
            network,
        )

    by_network = pd.DataFrame(
        [{"network": n, **network_support(n)} for n in sorted({x.network for x in facts})]
    )
    st.subheader("By network")
    st.dataframe(by_network, hide_index=True, width="stretch")
    per_network = st.columns(min(len(by_network), 6) or 1)
    for column, name in zip(per_network, by_network.get("network", []), strict=False):
        with column:
            ui.conversations_link(f"{name}'s conversations", network=str(name))
    st.download_button(
        "Download weekly figures (CSV)", csv_export.frame(weeks), "support-weekly.csv", "text/csv"
    )
    st.download_button(
        "Download by network (CSV)",
        csv_export.frame(by_network),
        "support-by-network.csv",
        "text/csv",
    )
    st.subheader("Agents")
    st.caption("Who gave the first response; unassigned: the answer named nobody.")
    agents = pd.DataFrame(
        [
            {
                "agent": row["agent"],
                "answered": row["answered"],
                "median first response": fmt_seconds(row["median_first_response_s"]),
                "in business hours": fmt_seconds(row["median_first_response_business_s"]),
            }
            for row in figures["agents"]
        ]
    )
    if agents.empty:
        st.info("No conversation of this period has been answered yet.")
    else:
        st.dataframe(agents, hide_index=True, width="stretch")
        links = st.columns(min(len(figures["agents"]), 6))
        for column, row in zip(links, figures["agents"][: len(links)], strict=False):
            with column:
                ui.conversations_link(f"{row['agent']}'s conversations", agent=row["agent"])
        st.download_button(
            "Download agents (CSV)",
            csv_export.records(figures["agents"]),
            "support-agents.csv",
            "text/csv",
        )
