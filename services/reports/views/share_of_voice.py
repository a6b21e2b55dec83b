"""Share of voice: the brand's mentions against its competitors', week by week over the year
per network, and the competitors (docs/figures.md#response-quality-and-share-of-voice)."""

import pandas as pd
import plotly.express as px
import streamlit as st

from services.reports import cache, listening, ui
from services.reports import formatting as fmt

with cache.timed_page("share_of_voice"):
    sp = ui.speaker()
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    heard = cache.cached(
        "listening",
        lambda: listening.listening(cache.engine(), period, network=f.network, account=f.account),
        f,
    )
    ui.page_title(sp._("Share of voice"), f)
    a, b, c = st.columns(3)
    share = heard["share_of_voice"]
    a.metric(sp._("Share of voice"), "—" if share is None else sp.percent(share))
    b.metric(sp._("Mentions of the brand"), sp.number(heard["mentions"]))
    theirs = sum(row["mentions"] for row in heard["competitors"])
    c.metric(sp._("Competitor mentions"), sp.number(theirs))
    weekly = cache.cached(
        "weekly_share", lambda: listening.weekly_share(cache.engine(), period), f.year, f.as_of
    )
    weeks = pd.DataFrame(weekly)
    if f.network and not weeks.empty:
        weeks = weeks[weeks["network"] == f.network]
    if weeks.empty:
        st.info(
            sp._(
                "No mentions in this period yet. Share of voice compares the brand's mentions "
                "with those of the competitors named on the Settings page."
            )
        )
    else:
        weeks["week of"] = [fmt.week_start(w) for w in weeks["week"]]
        weeks["network"] = [ui.network_name(n, sp) for n in weeks["network"]]
        chart = px.line(
            weeks,
            x="week of",
            y="share_of_voice",
            color="network",
            markers=True,
            title=ui.chart_title(sp._("Share of voice per week, by network"), f),
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
        ui.plot(chart)
    st.subheader(sp._("Per network"))
    if heard["networks"]:
        ui.table(
            [
                {
                    sp._("Network"): ui.network_name(row["network"], sp),
                    sp._("Mentions of the brand"): sp.number(row["mentions"]),
                    sp._("Competitor mentions"): sp.number(row["competitor_mentions"]),
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
                    sp._("Mentions"): sp.number(row["mentions"]),
                }
                for row in heard["competitors"]
            ],
            download=sp._("Download competitors (CSV)"),
            file=f"competitors-{f.year}.csv",
        )
