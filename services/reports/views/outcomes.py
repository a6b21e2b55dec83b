"""Outcomes: follower growth, visits -> leads -> conversions, revenue per currency, campaigns."""

import functools
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common.i18n import N_
from services.reports import cache, charts, outcomes, plots, reads, ui
from services.reports import formatting as fmt

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
            _("Revenue in {currency}", currency=currency),
            fmt.money(amount, currency, sp, whole=True),  # a headline: whole units
        )


def growth_chart(f: ui.Filters, audience: dict[str, Any]) -> None:
    st.subheader(_("Audience growth"))
    figure = plots.built("outcomes.growth", lambda: growth_figure(f), f)
    if figure is None:
        st.caption(_("No follower snapshots this year."))
        return
    plots.shown(figure)
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
        file=f"follower-growth-{f.year}.csv",
    )


def growth_figure(f: ui.Filters) -> go.Figure | None:
    """Followers per network and day: a line of each network's daily snapshots (SVG: WebGL,
    which plotly.express picks past 1,000 points, costs the browser more than it saves)."""
    period = f.period()
    snapshots = reads.follower_snapshots(period, network=f.network, account=f.account)
    series = outcomes.follower_series(snapshots, period)
    if not series:
        return None
    year = f.year
    frame = pd.DataFrame(series)
    frame["network"] = [ui.network_name(n, sp) for n in frame["network"]]
    chart = px.line(
        frame,
        x="day",
        y="followers",
        color="network",
        title=_("Followers per network over {year}", year=sp.digits(str(year))),
        labels={"day": "", "followers": _("followers"), "network": _("network")},
        render_mode="svg",
    )
    chart.update_layout(
        yaxis={"title": _("followers"), "tickformat": ",d"},
        xaxis={"title": None, "tickformat": "%-d %b"},
        # Below the dates: above, on a phone, the wrapped legend ran into the title.
        legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "title": None},
    )
    plots.hover(
        chart,
        lambda name, x, y: plots.said(
            fmt.day(pd.Timestamp(x).date(), sp), _("Followers on {network}", network=name),
            fmt.number(y, sp),
        ),
    )  # fmt: skip
    return charts.for_reader(chart, sp)


def funnel_chart(results: dict[str, Any], f: ui.Filters) -> None:
    st.subheader(_("From visit to conversion"))
    year = f.year
    if not results["networks"]:  # a year with follower snapshots only
        st.caption(_("No visits, leads or conversions this year."))
        return
    plots.chart("outcomes.funnel", lambda: funnel_figure(results), f)
    st.caption(
        _(
            "Each stage on its own scale from 0 (conversions are about a hundredth of visits); "
            "the rates are in the table."
        )
    )
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


def funnel_figure(results: dict[str, Any]) -> go.Figure:
    stages = [
        {
            "network": ui.network_name(row["network"], sp),
            "stage": _(stage),
            "count": row[key],
            "shown": fmt.number(row[key], sp),
            "said": plots.said(
                ui.network_name(row["network"], sp),
                _(stage),
                fmt.number(row[key], sp)
                if key == "visits"
                else _(
                    "{count} ({rate} of visits)",
                    count=fmt.number(row[key], sp),
                    rate=fmt.rate(row[key] / row["visits"] if row["visits"] else None, sp),
                ),
            ),
        }
        for row in results["networks"]
        for stage, key in zip(STAGES, ("visits", "leads", "conversions"), strict=True)
    ]
    # One panel per stage, each on its own plain scale from 0, left to right as people move
    # through: conversions are a hundredth of visits, so on one shared axis they were a hairline
    # and on a log axis a bar half as long meant a hundred times fewer.
    chart = px.bar(
        pd.DataFrame(stages),
        x="count",
        y="network",
        color="stage",
        facet_col="stage",
        orientation="h",
        text="shown",
        custom_data=["said"],
        title=_("Visits → leads → conversions, per network"),
        labels={"count": "", "network": "", "stage": ""},
        category_orders={"stage": [_(stage) for stage in STAGES]},
        facet_col_spacing=0.06,
    )
    chart.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    chart.update_xaxes(matches=None, showticklabels=False, title=None, rangemode="tozero")
    chart.update_yaxes(title=None, autorange="reversed")
    chart.update_traces(
        textposition="inside",
        insidetextanchor="start",
        hovertemplate="%{customdata[0]}<extra></extra>",
    )
    chart.update_layout(
        showlegend=False,
        margin={"t": 90},
        height=140 + 60 * max(1, len(results["networks"])),
    )
    return chart


def revenue_chart(results: dict[str, Any], f: ui.Filters) -> None:
    st.subheader(_("Revenue from social"))
    year = f.year
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
        plots.chart(
            "outcomes.revenue", functools.partial(revenue_figure, bars, currency), f, currency
        )
    ui.table(
        [
            {_("Currency"): currency, _("Revenue"): fmt.amounts({currency: amount}, sp)}
            for currency, amount in results["revenue"].items()
        ],
        download=_("Download revenue per currency (CSV)"),
        file=f"revenue-{year}.csv",
    )


def revenue_figure(bars: list[dict[str, Any]], currency: str) -> go.Figure:
    chart = px.bar(
        pd.DataFrame([bar for bar in bars if bar["currency"] == currency]),
        x="network",
        y="revenue",
        title=_("Revenue in {currency} per network", currency=currency),
        labels={"network": "", "revenue": currency},
    )
    chart.update_layout(yaxis={"title": currency, "tickformat": ",.0f"})
    chart.update_traces(text=[fmt.money(y, currency, sp, whole=True) for y in chart.data[0].y])
    chart.update_traces(
        customdata=[
            plots.said(None, x, fmt.money(y, currency, sp))
            for x, y in zip(chart.data[0].x, chart.data[0].y, strict=True)
        ],
        hovertemplate=plots.HOVER,
    )
    return chart


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
    audience, results = reads.outcome_blocks(period, network=f.network, account=f.account)
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
    growth_chart(f, audience)
    funnel_chart(results, f)
    revenue_chart(results, f)
    campaign_table(results, f.year)
