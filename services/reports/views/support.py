"""Support impact: conversations, answers, response and resolution times, social versus email."""

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common import csv_export
from services.common.vocabulary import network_label
from services.reports import formatting as fmt
from services.reports import quality_view, queries, ui
from services.reports.figures import weekly_support

with ui.timed_page("support"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    facts = ui.cached(
        "conversations",
        lambda: queries.conversations(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    ui.page_title("Customer-support impact", f)
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
    c.metric("Answered within 1 h", fmt.rate(figures["responded_within_1h_rate"]))
    if f.sliced:  # within one network (or account) the share is 100 % or 0 %: no news
        d.metric(
            "Social share",
            "—",
            help="Social networks against email: shown for all networks and accounts only.",
        )
    else:
        d.metric("Social share", fmt.rate(figures["social_share"]))
    # Every figure opens the conversations behind it, with the same period and filters.
    with a:
        ui.conversations_link("All of them")
    with b:
        ui.conversations_link("The answered ones", only="answered")
        ui.conversations_link("Not answered yet", only="unanswered")
    with c:
        ui.conversations_link("Answered within 1 h", only="within_1h")
    if not f.sliced:
        with d:
            ui.conversations_link("On social networks", only="social")
            ui.conversations_link("By email", only="email")
    ui.completeness_line(f)
    st.markdown("**Response and resolution times** (calendar time · business hours)")
    times = pd.DataFrame(
        [
            {
                "Figure": fmt.label(key),
                "Calendar time": fmt.duration(figures[key]),
                "Business hours": fmt.duration(figures[key.replace("_s", "_business_s", 1)]),
            }
            for key in ("median_first_response_s", "p90_first_response_s", "median_resolution_s")
        ]
    )
    ui.table(
        times,
        download="Download these times (CSV)",
        file=f"support-times-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    x, y = st.columns(2)
    with x:
        ui.conversations_link("The first responses behind these times", only="answered")
    with y:
        ui.conversations_link("The resolutions behind these times", only="resolved")
    a, b, c = st.columns(3)
    a.metric(
        "First-response SLA met",
        fmt.rate(figures["first_response_sla_met_rate"]),
        help="answered within the target, counted in business hours (Settings)",
    )
    b.metric("SLA breaches", f"{figures['sla_breaches']:,}")
    with a:
        ui.conversations_link("Where the SLA was met", sla="met")
    with b:
        ui.conversations_link("The SLA breaches", sla="breached")
    st.subheader(ui.speaker()._("Response quality"))
    quality_view.figures(figures)
    weekly = weekly_support(facts, period)
    weeks = pd.DataFrame(weekly)
    weeks["week of"] = [fmt.week_start(w) for w in weeks["week"]]
    weeks["median first response (min)"] = weeks["median_first_response_s"] / 60
    chart = px.line(
        weeks,
        x="week of",
        y="median first response (min)",
        markers=True,
        title=ui.chart_title("Median first response per week", f),
    )
    chart.update_layout(yaxis={"title": "minutes", "rangemode": "tozero"}, xaxis={"title": None})
    chart.update_xaxes(tickformat="%-d %b")
    st.plotly_chart(chart, width="stretch")
    shares = weeks.rename(
        columns={
            "responded_within_1h_rate": fmt.label("responded_within_1h_rate"),
            "social_share": fmt.label("social_share"),
        }
    )
    # Within one network the social share says nothing (all or none): the rate alone then.
    rates = (
        ["responded_within_1h_rate"] if f.sliced else ["responded_within_1h_rate", "social_share"]
    )
    chart = px.bar(
        shares,
        x="week of",
        y=[fmt.label(rate) for rate in rates],
        barmode="group",
        title=ui.chart_title(
            "Answered within 1 h per week"
            if f.sliced
            else "Answered within 1 h and social share of support, per week",
            f,
        ),
    )
    chart.update_layout(
        yaxis={"title": None, "tickformat": ".0%", "range": [0, 1]},
        xaxis={"title": None},
        legend={"title": None, "orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    chart.update_xaxes(tickformat="%-d %b")
    st.plotly_chart(chart, width="stretch")
    WEEK_COLUMNS = [
        "week", "conversations", "answered", "responded_within_1h_rate",
        "median_first_response_s", "p90_first_response_s", "median_resolution_s", "social_share",
    ]  # fmt: skip

    def network_support(network: str) -> dict[str, Any]:
        return ui.cached(
            "support",
            lambda: queries.support(ui.engine(), period, network=network, account=f.account),
            f,
            network,
        )

    by_network = [{"network": n, **network_support(n)} for n in sorted({x.network for x in facts})]
    NETWORK_COLUMNS = [
        "network", "conversations", "answered", "responded_within_1h_rate",
        "median_first_response_s", "median_first_response_business_s",
        "first_response_sla_met_rate", "median_resolution_s",
    ]  # fmt: skip
    st.subheader("By network")
    short = {
        "responded_within_1h_rate": "Within 1 h",
        "median_first_response_s": "First response",
        "median_first_response_business_s": "In business hours",
        "first_response_sla_met_rate": "SLA met",
        "median_resolution_s": "Resolution",
    }
    st.dataframe(
        fmt.for_people(by_network, NETWORK_COLUMNS, short), hide_index=True, width="stretch"
    )
    st.caption("Times are medians; the SLA counts business hours.")
    st.caption("Open a network's conversations:")
    ui.conversations_links(
        [
            (
                f"{network_label(str(row['network']))} conversations",
                {"network": str(row["network"])},
            )
            for row in by_network
        ]
    )
    ui.csv_download(
        "Download weekly figures (CSV)",
        csv_export.records(fmt.for_csv(weekly, WEEK_COLUMNS)),
        f"support-weekly-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    ui.csv_download(
        "Download by network (CSV)",
        csv_export.records(fmt.for_csv(by_network, NETWORK_COLUMNS)),
        f"support-by-network-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    st.subheader("Agents")
    st.caption("Who gave the first response; unassigned: the answer named nobody.")
    agents = pd.DataFrame(
        [
            {
                "Agent": row["agent"],
                "Answered": fmt.number(row["answered"]),
                "Median first response": fmt.duration(row["median_first_response_s"]),
                "In business hours": fmt.duration(row["median_first_response_business_s"]),
                ui.speaker()._("CSAT"): fmt.rate(row["csat"]),
                ui.speaker()._("Ratings"): fmt.number(row["csat_responses"]),
            }
            for row in figures["agents"]
        ]
    )
    if agents.empty:
        st.info("No conversation of this period has been answered yet.")
    else:
        st.dataframe(agents, hide_index=True, width="stretch")
        st.caption("Open an agent's conversations:")
        # The answered conversations each agent row counts (unassigned: answered, naming nobody).
        ui.conversations_links(
            [
                (str(row["agent"]), {"agent": str(row["agent"]), "only": "answered"})
                for row in figures["agents"]
            ]
        )
        ui.csv_download(
            "Download agents (CSV)",
            csv_export.records(
                fmt.for_csv(
                    figures["agents"],
                    [
                        "agent",
                        "answered",
                        "median_first_response_s",
                        "median_first_response_business_s",
                        "csat",
                        "csat_responses",
                    ],
                )
            ),
            f"support-agents-{f.year}-as-of-{period.as_of.isoformat()}.csv",
        )
