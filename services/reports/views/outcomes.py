"""Outcomes: follower growth, visits -> leads -> conversions, revenue per currency, campaigns."""

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common.i18n import N_
from services.reports import cache, outcomes, queries, ui
from services.reports import formatting as fmt
from services.reports.summary import outcome_blocks

sp = ui.speaker()
_ = sp._
STAGES = (N_("Visits"), N_("Leads"), N_("Conversions"))


def how_to_connect() -> None:
    # Commands, addresses and variables stay as typed; the sentences around them translate.
    st.info(
        _("No outcomes for this period yet. To measure what social brings:")
        + "\n\n- "
        + _(
            "**Orders**: register the Shopify order webhook ({details});",
            details="`/v1/webhooks/shopify`, `SHOPIFY_WEBHOOK_SECRET`; docs/operating.md",
        )
        + "\n- "
        + _(
            "**Visits and key events**: {command} (a GA4 report by date, session source and "
            "medium; {doc});",
            command="`rapport import --source ga4_report REPORT.json`",
            doc="docs/export-formats.md",
        )
        + "\n- "
        + _(
            "**Followers**: the Facebook page export, or {kind} snapshots through {endpoint};",
            kind="`followers`",
            endpoint="`POST /v1/interactions`",
        )
        + "\n- "
        + _("{command} streams a realistic year of all of them.", command="`rapport demo`")
    )


def headline(audience: dict[str, Any], results: dict[str, Any]) -> None:
    a, b, c, d = st.columns(4)
    ui.followers_metric(a, audience)
    b.metric(_("Visits from social"), fmt.number(results["visits"], sp))
    c.metric(
        _("Leads"),
        fmt.number(results["leads"], sp),
        help=_("{rate} of visits", rate=fmt.rate(results["lead_rate"], sp)),
    )
    d.metric(
        _("Conversions"),
        fmt.number(results["conversions"], sp),
        help=_("{rate} of visits", rate=fmt.rate(results["conversion_rate"], sp)),
    )
    # One figure per currency: amounts in different currencies are never added.
    currencies = list(results["revenue"].items())[:4]
    for column, (currency, amount) in zip(st.columns(4), currencies, strict=False):
        column.metric(
            _("Revenue in {currency}", currency=currency), fmt.amounts({currency: amount}, sp)
        )


def growth_chart(series: list[dict[str, Any]], audience: dict[str, Any], year: int) -> None:
    st.subheader(_("Audience growth"))
    if not series:
        st.caption(_("No follower snapshots this year."))
        return
    frame = pd.DataFrame(series)
    frame["network"] = [ui.network_name(n, sp) for n in frame["network"]]
    chart = px.line(
        frame,
        x="day",
        y="followers",
        color="network",
        title=_("Followers per network over {year}", year=sp.digits(str(year))),
        labels={"day": "", "followers": _("followers"), "network": _("network")},
    )
    chart.update_layout(
        yaxis={"title": _("followers"), "tickformat": ",d"},
        xaxis={"title": None, "tickformat": "%-d %b"},
        # Below the dates: above, on a phone, the wrapped legend ran into the title.
        legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "title": None},
    )
    ui.plot(chart)
    ui.table(
        [
            {
                _("Network"): ui.network_name(row["network"], sp),
                _("Account"): ui.account_name(row["account"], sp),
                _("Followers on 1 January"): fmt.number(row["followers_at_start"], sp),
                _("Followers now"): fmt.number(row["followers"], sp),
                _("Net growth"): fmt.number(row["net_growth"], sp),
                _("Growth rate"): fmt.rate(row["growth_rate"], sp),
            }
            for row in audience["networks"]
        ],
        download=_("Download follower growth (CSV)"),
        file=f"follower-growth-{year}.csv",
    )


def funnel_chart(results: dict[str, Any], year: int) -> None:
    st.subheader(_("From visit to conversion"))
    stages = [
        {"network": ui.network_name(row["network"], sp), "stage": _(stage), "count": row[key]}
        for row in results["networks"]
        for stage, key in zip(STAGES, ("visits", "leads", "conversions"), strict=True)
    ]
    if not stages:  # a year with follower snapshots only
        st.caption(_("No visits, leads or conversions this year."))
        return
    # Grouped bars on a log scale: conversions are a hundredth of visits, and a stacked
    # funnel drew them as a hairline.
    chart = px.bar(
        pd.DataFrame(stages),
        x="count",
        y="network",
        color="stage",
        orientation="h",
        barmode="group",
        log_x=True,
        text_auto=",d",
        title=_("Visits → leads → conversions, per network"),
        labels={"count": _("people (log scale)"), "network": "", "stage": ""},
        category_orders={"stage": [_(stage) for stage in STAGES]},
    )
    chart.update_layout(
        xaxis={"title": _("people (log scale)")},
        yaxis={"title": None, "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "title": None},
        margin={"t": 90},
        height=160 + 90 * max(1, len(results["networks"])),
    )
    ui.plot(chart)
    ui.table(
        [
            {
                _("Network"): ui.network_name(row["network"], sp),
                _("Visits"): fmt.number(row["visits"], sp),
                _("Leads"): fmt.number(row["leads"], sp),
                _("Conversions"): fmt.number(row["conversions"], sp),
                _("Conversion rate"): fmt.rate(row["conversion_rate"], sp),
                _("Revenue"): fmt.amounts(row["revenue"], sp),
            }
            for row in results["networks"]
        ],
        download=_("Download the funnel per network (CSV)"),
        file=f"outcomes-by-network-{year}.csv",
    )


def revenue_chart(results: dict[str, Any], year: int) -> None:
    st.subheader(_("Revenue from social"))
    bars = [
        {"network": ui.network_name(row["network"], sp), "currency": currency, "revenue": amount}
        for row in results["networks"]
        for currency, amount in row["revenue"].items()
    ]
    if not bars:
        st.caption(_("No orders with a value this year."))
        return
    # One chart per currency: amounts in different currencies are never added or compared.
    for currency in sorted({bar["currency"] for bar in bars}):
        chart = px.bar(
            pd.DataFrame([bar for bar in bars if bar["currency"] == currency]),
            x="network",
            y="revenue",
            title=_("Revenue in {currency} per network", currency=currency),
            labels={"network": "", "revenue": currency},
            text_auto=",.2f",
        )
        chart.update_layout(yaxis={"title": currency, "tickformat": ",.0f"})
        ui.plot(chart)
    ui.table(
        [
            {_("Currency"): currency, _("Revenue"): fmt.amounts({currency: amount}, sp)}
            for currency, amount in results["revenue"].items()
        ],
        download=_("Download revenue per currency (CSV)"),
        file=f"revenue-{year}.csv",
    )


def campaign_table(results: dict[str, Any], year: int) -> None:
    st.subheader(_("Campaigns"))
    st.caption(
        _(
            "By the campaign named in the link (its UTM campaign), most conversions first (at "
            "most 50)."
        )
    )
    ui.table(
        [
            {
                _("Campaign"): row["campaign"],
                _("Visits"): fmt.number(row["visits"], sp),
                _("Leads"): fmt.number(row["leads"], sp),
                _("Conversions"): fmt.number(row["conversions"], sp),
                _("Revenue"): fmt.amounts(row["revenue"], sp),
            }
            for row in results["campaigns"]
        ],
        download=_("Download campaigns (CSV)"),
        file=f"campaigns-{year}.csv",
    )


with cache.timed_page("outcomes"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    totals = cache.cached(
        "kind_totals",
        lambda: queries.kind_totals(cache.engine(), period, network=f.network, account=f.account),
        f,
    )
    audience, results = cache.cached(
        "outcome_blocks",
        lambda: outcome_blocks(
            cache.engine(), period, totals, network=f.network, account=f.account
        ),
        f,
    )
    snapshots = cache.cached(
        "follower_snapshots",
        lambda: queries.follower_snapshots(
            cache.engine(), period, network=f.network, account=f.account
        ),
        f,
    )
    st.title(_("Outcomes: what social brought"))
    st.caption(
        _(
            "Year to date as of {day} · followers, visits, leads, conversions and revenue, as "
            "measured by the shop and the site's analytics",
            day=fmt.day(f.as_of, sp),
        )
    )
    if audience["followers"] is None and not (results["visits"] or results["conversions"]):
        how_to_connect()
        st.stop()
    headline(audience, results)
    ui.completeness_line(f)
    growth_chart(outcomes.follower_series(snapshots, period), audience, f.year)
    funnel_chart(results, f.year)
    revenue_chart(results, f.year)
    campaign_table(results, f.year)
