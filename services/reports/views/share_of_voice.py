"""Share of voice: the brand's mentions against its competitors', week by week over the year
per network, and the competitors (docs/figures.md#response-quality-and-share-of-voice)."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.reports import cache, charts, plots, reads, ui
from services.reports import formatting as fmt


def weekly_chart(f: ui.Filters) -> go.Figure | None:
    """The share of voice per week and network (None: no mentions this period)."""
    sp = ui.speaker()
    period = f.period()
    weeks = pd.DataFrame(reads.weekly_share(period))
    if f.network and not weeks.empty:
        weeks = weeks[weeks["network"] == f.network]
    if weeks.empty:
        return None
    weeks["week of"] = [fmt.week_start(w) for w in weeks["week"]]
    weeks["network"] = [ui.network_name(n, sp) for n in weeks["network"]]  # the legend
    chart = px.line(
        weeks[weeks["week"].isin(plots.whole_weeks(sorted(set(weeks["week"])), period))],
        x="week of",
        y="share_of_voice",
        color="network",
        markers=True,
        title=plots.chart_title(sp._("Share of voice per week, by network"), f),
        labels={
            "network": sp._("Network"),
            "share_of_voice": sp._("Share of voice"),
            "week of": sp._("Week of"),
        },
    )
    chart.update_layout(
        yaxis={"title": None, "tickformat": ".0%", "range": [0, 1]},
        xaxis={"title": None, "tickformat": "%-d %b"},
        legend={"orientation": "h", "y": -0.18, "yanchor": "top", "x": 0},
    )
    plots.hover(
        chart,
        lambda name, x, y: plots.said(
            plots.week_of(x, period),
            sp._("Share of voice on {network}", network=name),
            fmt.rate(y, sp),
        ),
    )
    return charts.for_reader(chart, sp)


with cache.timed_page("share_of_voice"):
    sp = ui.speaker()
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    heard = reads.heard(period, network=f.network, account=f.account)
    ui.page_title(sp._("Share of voice"), f)
    a, b, c = st.columns(3)
    share = heard["share_of_voice"]
    # Every figure as the other pages write it, in the reader's language: "47.4 %", "16,411".
    a.metric(sp._("Share of voice"), fmt.rate(share, sp))
    b.metric(sp._("Mentions of the brand"), fmt.number(heard["mentions"], sp))
    theirs = sum(row["mentions"] for row in heard["competitors"])
    c.metric(sp._("Competitor mentions"), fmt.number(theirs, sp))
    chart = plots.built("share_of_voice.weekly", lambda: weekly_chart(f), f)
    if chart is None:
        st.info(
            sp._(
                "No mentions in this period yet. Share of voice compares the brand's mentions "
                "with those of the competitors named on the Settings page."
            )
        )
    else:
        plots.shown(chart)
        st.caption(sp._(plots.PART_WEEKS))
    st.subheader(sp._("Per network"))
    if heard["networks"]:
        ui.table(
            [
                {
                    sp._("Network"): ui.network_name(row["network"], sp),
                    sp._("Mentions of the brand"): fmt.number(row["mentions"], sp),
                    sp._("Competitor mentions"): fmt.number(row["competitor_mentions"], sp),
                    sp._("Share of voice"): fmt.rate(row["share_of_voice"], sp),
                }
                for row in heard["networks"]
            ],
            download=sp._("Download per network (CSV)"),
            file=f"share-of-voice-{f.year}.csv",
        )
    st.subheader(sp._("Competitors"))
    if not heard["competitors"]:
        st.caption(sp._("No competitors yet: admins and managers name them on the Settings page."))
    else:
        ui.table(
            [
                {
                    sp._("Competitor"): row["name"],
                    sp._("Network"): ui.network_name(row["network"], sp),
                    sp._("Account"): row["account"],
                    sp._("Mentions"): fmt.number(row["mentions"], sp),
                }
                for row in heard["competitors"]
            ],
            download=sp._("Download competitors (CSV)"),
            file=f"competitors-{f.year}.csv",
        )
