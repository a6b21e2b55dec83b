"""Support impact: conversations, answers, response and resolution times, social versus email."""

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.common.i18n import N_
from services.reports import cache, plots, quality_view, reads, ui
from services.reports import charts as charts_module
from services.reports import formatting as fmt
from services.reports.figures import weekly_support

sp = ui.speaker()
_ = sp._


with cache.timed_page("support"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    ui.page_title(_("Customer-support impact"), f)
    # The headline and per-network figures come from the SQL the Overview uses (queries.support);
    # only the weekly trend is computed here, over the conversations' facts.
    figures = reads.support(period, network=f.network, account=f.account)
    if not figures["conversations"]:
        ui.empty_state()
        st.stop()
    a, b, c, d = st.columns(4)
    a.metric(_("Conversations"), fmt.number(figures["conversations"], sp))
    b.metric(_("Answered"), fmt.number(figures["answered"], sp))
    c.metric(_("Answered within 1 h"), fmt.rate(figures["responded_within_1h_rate"], sp))
    if f.sliced:  # within one network (or account) the share is 100 % or 0 %: no news
        d.metric(
            _("Social share"),
            "—",
            help=_("Social networks against email: shown for all networks and accounts only."),
        )
    else:
        d.metric(_("Social share"), fmt.rate(figures["social_share"], sp))
    # Every figure opens the conversations behind it, with the same period and filters.
    with a:
        ui.conversations_link(_("All of them"))
    with b:
        ui.conversations_link(_("The answered ones"), only="answered")
        ui.conversations_link(_("Not answered yet"), only="unanswered")
    with c:
        ui.conversations_link(_("Answered within 1 h"), only="within_1h")
    if not f.sliced:
        with d:
            ui.conversations_link(_("On social networks"), only="social")
            ui.conversations_link(_("By email"), only="email")
    ui.completeness_line(f)
    st.markdown(_("**Response and resolution times** (calendar time · business hours)"))
    times = pd.DataFrame(
        [
            {
                _("Figure"): fmt.label(key, sp),
                _("Calendar time"): fmt.duration(figures[key], sp),
                _("Business hours"): fmt.duration(figures[key.replace("_s", "_business_s", 1)], sp),
            }
            for key in ("median_first_response_s", "p90_first_response_s", "median_resolution_s")
        ]
    )
    ui.table(
        times,
        download=_("Download these times (CSV)"),
        file=f"support-times-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    x, y = st.columns(2)
    with x:
        ui.conversations_link(_("The first responses behind these times"), only="answered")
    with y:
        ui.conversations_link(_("The resolutions behind these times"), only="resolved")
    a, b, c = st.columns(3)
    a.metric(
        _("First-response SLA met"),
        fmt.rate(figures["first_response_sla_met_rate"], sp),
        help=_("answered within the target, counted in business hours (Settings)"),
    )
    b.metric(_("SLA breaches"), fmt.number(figures["sla_breaches"], sp))
    with a:
        ui.conversations_link(_("Where the SLA was met"), sla="met")
    with b:
        ui.conversations_link(_("The SLA breaches"), sla="breached")
    st.subheader(_("Response quality"))
    quality_view.figures(figures)
    WEEK_COLUMNS = [
        "week", "conversations", "answered", "responded_within_1h_rate",
        "median_first_response_s", "p90_first_response_s", "median_resolution_s", "social_share",
    ]  # fmt: skip

    def weekly_parts() -> tuple[list[go.Figure], str, list[str]]:
        """The weekly charts, the weekly CSV and the networks, from the conversations' facts:
        made once per data version (plots.built), not on every visit."""
        facts = reads.conversations(period, network=f.network, account=f.account)
        charts: list[go.Figure] = []
        weekly = weekly_support(facts, period)
        weeks = pd.DataFrame(weekly)
        week_of, median = _("Week of"), _("Median first response (min)")
        weeks[week_of] = [fmt.week_start(w) for w in weeks["week"]]
        weeks[median] = weeks["median_first_response_s"] / 60
        chart = px.line(
            weeks[weeks["week"].isin(plots.whole_weeks(list(weeks["week"]), period))],
            x=week_of,
            y=median,
            markers=True,
            title=plots.chart_title(_("Median first response per week"), f),
        )
        chart.update_layout(
            yaxis={"title": _("minutes"), "rangemode": "tozero"}, xaxis={"title": None}
        )
        chart.update_xaxes(tickformat="%-d %b")
        plots.hover(
            chart,
            lambda _name, x, y: plots.said(
                plots.week_of(x, period), _("Median first response"), fmt.duration(y * 60, sp)
            ),
        )
        charts.append(charts_module.for_reader(chart, sp))
        shares = weeks.rename(
            columns={
                "responded_within_1h_rate": fmt.label("responded_within_1h_rate", sp),
                "social_share": fmt.label("social_share", sp),
            }
        )
        # Within one network the social share says nothing (all or none): the rate alone then.
        rates = (
            ["responded_within_1h_rate"]
            if f.sliced
            else ["responded_within_1h_rate", "social_share"]
        )
        chart = px.bar(
            shares,
            x=week_of,
            y=[fmt.label(rate, sp) for rate in rates],
            barmode="group",
            title=plots.chart_title(
                _("Answered within 1 h per week")
                if f.sliced
                else _("Answered within 1 h and social share of support, per week"),
                f,
            ),
        )
        chart.update_layout(
            yaxis={"title": None, "tickformat": ".0%", "range": [0, 1]},
            xaxis={"title": None},
            legend={"title": None, "orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        )
        chart.update_xaxes(tickformat="%-d %b")
        plots.hover(
            chart, lambda name, x, y: plots.said(plots.week_of(x, period), name, fmt.rate(y, sp))
        )
        plots.part_weeks(chart, list(shares["week"]), period)
        charts.append(charts_module.for_reader(chart, sp))
        weekly_csv = csv_export.records(fmt.for_csv(weekly, WEEK_COLUMNS, sp))
        return charts, weekly_csv, sorted({x.network for x in facts})

    weekly_charts, weekly_csv, networks = plots.built("support.weekly", weekly_parts, f)
    for figure in weekly_charts:
        plots.shown(figure)
    st.caption(_(plots.PART_WEEKS))

    def network_support(network: str) -> dict[str, Any]:
        return reads.support(period, network=network, account=f.account)

    by_network = [{"network": n, **network_support(n)} for n in networks]
    NETWORK_COLUMNS = [
        "network", "conversations", "answered", "responded_within_1h_rate",
        "median_first_response_s", "median_first_response_business_s",
        "first_response_sla_met_rate", "median_resolution_s",
    ]  # fmt: skip
    st.subheader(_("By network"))
    short = {
        "responded_within_1h_rate": N_("Within 1 h"),
        "median_first_response_s": N_("First response"),
        "median_first_response_business_s": N_("In business hours"),
        "first_response_sla_met_rate": N_("SLA met"),
        "median_resolution_s": N_("Resolution"),
    }
    ui.dataframe(fmt.for_people(by_network, NETWORK_COLUMNS, short, sp))
    st.caption(_("Times are medians; the SLA counts business hours."))
    st.caption(_("Open a network's conversations:"))
    ui.conversations_links(
        [
            (
                _("{network} conversations", network=ui.network_name(str(row["network"]), sp)),
                {"network": str(row["network"])},
            )
            for row in by_network
        ]
    )
    ui.csv_download(
        _("Download weekly figures (CSV)"),
        weekly_csv,
        f"support-weekly-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    ui.csv_download(
        _("Download by network (CSV)"),
        csv_export.records(fmt.for_csv(by_network, NETWORK_COLUMNS, sp)),
        f"support-by-network-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
    st.subheader(_("Agents"))
    st.caption(_("Who gave the first response; unassigned: the answer named nobody."))
    agents = pd.DataFrame(
        [
            {
                _("Agent"): fmt.agent(str(row["agent"]), sp),
                _("Answered"): fmt.number(row["answered"], sp),
                _("Median first response"): fmt.duration(row["median_first_response_s"], sp),
                _("In business hours"): fmt.duration(row["median_first_response_business_s"], sp),
                _("CSAT"): fmt.rate(row["csat"], sp),
                _("Ratings"): fmt.number(row["csat_responses"], sp),
            }
            for row in figures["agents"]
        ]
    )
    if agents.empty:
        st.info(_("No conversation of this period has been answered yet."))
    else:
        ui.dataframe(agents)
        st.caption(_("Open an agent's conversations:"))
        # The answered conversations each agent row counts (unassigned: answered, naming nobody).
        ui.conversations_links(
            [
                (fmt.agent(str(row["agent"]), sp), {"agent": str(row["agent"]), "only": "answered"})
                for row in figures["agents"]
            ]
        )
        ui.csv_download(
            _("Download agents (CSV)"),
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
                    sp,
                )
            ),
            f"support-agents-{f.year}-as-of-{period.as_of.isoformat()}.csv",
        )
