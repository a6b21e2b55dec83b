"""Outcomes: follower growth, visits -> leads -> conversions, revenue per currency, campaigns."""

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common.vocabulary import network_label
from services.reports import formatting as fmt
from services.reports import outcomes, queries, ui
from services.reports.summary import outcome_blocks

STAGES = ("Visits", "Leads", "Conversions")


def how_to_connect() -> None:
    st.info(
        "No outcomes for this period yet. To measure what social brings:\n\n"
        "- **Orders**: register the Shopify order webhook (`/v1/webhooks/shopify`, "
        "`SHOPIFY_WEBHOOK_SECRET`; docs/operating.md);\n"
        "- **Visits and key events**: `rapport import --source ga4_report REPORT.json` "
        "(a GA4 report by date, session source and medium; docs/export-formats.md);\n"
        "- **Followers**: the Facebook page export, or `followers` snapshots through "
        "`POST /v1/interactions`;\n"
        "- `rapport demo` streams a realistic year of all of them."
    )


def headline(audience: dict[str, Any], results: dict[str, Any]) -> None:
    a, b, c, d = st.columns(4)
    ui.followers_metric(a, audience)
    b.metric("Visits from social", f"{results['visits']:,}")
    c.metric("Leads", f"{results['leads']:,}", help=f"{fmt.rate(results['lead_rate'])} of visits")
    d.metric(
        "Conversions",
        f"{results['conversions']:,}",
        help=f"{fmt.rate(results['conversion_rate'])} of visits",
    )
    # One figure per currency: amounts in different currencies are never added.
    currencies = list(results["revenue"].items())[:4]
    for column, (currency, amount) in zip(st.columns(4), currencies, strict=False):
        column.metric(f"Revenue in {currency}", fmt.amounts({currency: amount}))


def growth_chart(series: list[dict[str, Any]], audience: dict[str, Any], year: int) -> None:
    st.subheader("Audience growth")
    if not series:
        st.caption("No follower snapshots this year.")
        return
    frame = pd.DataFrame(series)
    frame["network"] = [network_label(n) for n in frame["network"]]
    chart = px.line(
        frame,
        x="day",
        y="followers",
        color="network",
        title=f"Followers per network over {year}",
        labels={"day": "", "followers": "followers", "network": "network"},
    )
    chart.update_layout(
        yaxis={"title": "followers", "tickformat": ",d"},
        xaxis={"title": None, "tickformat": "%-d %b"},
        # Below the dates: above, on a phone, the wrapped legend ran into the title.
        legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "title": None},
    )
    st.plotly_chart(chart, width="stretch")
    ui.table(
        [
            {
                "Network": network_label(row["network"]),
                "Account": row["account"],
                "Followers on 1 January": fmt.number(row["followers_at_start"]),
                "Followers now": fmt.number(row["followers"]),
                "Net growth": fmt.number(row["net_growth"]),
                "Growth rate": fmt.rate(row["growth_rate"]),
            }
            for row in audience["networks"]
        ],
        download="Download follower growth (CSV)",
        file=f"follower-growth-{year}.csv",
    )


def funnel_chart(results: dict[str, Any], year: int) -> None:
    st.subheader("From visit to conversion")
    stages = [
        {"network": network_label(row["network"]), "stage": stage, "count": row[key]}
        for row in results["networks"]
        for stage, key in zip(STAGES, ("visits", "leads", "conversions"), strict=True)
    ]
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
        title="Visits → leads → conversions, per network",
        labels={"count": "people (log scale)", "network": "", "stage": ""},
        category_orders={"stage": list(STAGES)},
    )
    chart.update_layout(
        xaxis={"title": "people (log scale)"},
        yaxis={"title": None, "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "title": None},
        margin={"t": 90},
        height=160 + 90 * max(1, len(results["networks"])),
    )
    st.plotly_chart(chart, width="stretch")
    ui.table(
        [
            {
                "Network": network_label(row["network"]),
                "Visits": f"{row['visits']:,}",
                "Leads": f"{row['leads']:,}",
                "Conversions": f"{row['conversions']:,}",
                "Conversion rate": fmt.rate(row["conversion_rate"]),
                "Revenue": fmt.amounts(row["revenue"]),
            }
            for row in results["networks"]
        ],
        download="Download the funnel per network (CSV)",
        file=f"outcomes-by-network-{year}.csv",
    )


def revenue_chart(results: dict[str, Any], year: int) -> None:
    st.subheader("Revenue from social")
    bars = [
        {"network": network_label(row["network"]), "currency": currency, "revenue": amount}
        for row in results["networks"]
        for currency, amount in row["revenue"].items()
    ]
    if not bars:
        st.caption("No orders with a value this year.")
        return
    # One chart per currency: amounts in different currencies are never added or compared.
    for currency in sorted({bar["currency"] for bar in bars}):
        chart = px.bar(
            pd.DataFrame([bar for bar in bars if bar["currency"] == currency]),
            x="network",
            y="revenue",
            title=f"Revenue in {currency} per network",
            labels={"network": "", "revenue": currency},
            text_auto=",.2f",
        )
        chart.update_layout(yaxis={"title": currency, "tickformat": ",.0f"})
        st.plotly_chart(chart, width="stretch")
    ui.table(
        [
            {"Currency": currency, "Revenue": fmt.amounts({currency: amount})}
            for currency, amount in results["revenue"].items()
        ],
        download="Download revenue per currency (CSV)",
        file=f"revenue-{year}.csv",
    )


def campaign_table(results: dict[str, Any], year: int) -> None:
    st.subheader("Campaigns")
    st.caption(
        "By the campaign named in the link (its UTM campaign), most conversions first (at most 50)."
    )
    ui.table(
        [
            {
                "Campaign": row["campaign"],
                "Visits": f"{row['visits']:,}",
                "Leads": f"{row['leads']:,}",
                "Conversions": f"{row['conversions']:,}",
                "Revenue": fmt.amounts(row["revenue"]),
            }
            for row in results["campaigns"]
        ],
        download="Download campaigns (CSV)",
        file=f"campaigns-{year}.csv",
    )


with ui.timed_page("outcomes"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    totals = ui.cached(
        "kind_totals",
        lambda: queries.kind_totals(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    audience, results = ui.cached(
        "outcome_blocks",
        lambda: outcome_blocks(ui.engine(), period, totals, network=f.network, account=f.account),
        f,
    )
    snapshots = ui.cached(
        "follower_snapshots",
        lambda: queries.follower_snapshots(
            ui.engine(), period, network=f.network, account=f.account
        ),
        f,
    )
    st.title("Outcomes: what social brought")
    st.caption(
        f"Year to date as of {fmt.day(f.as_of)} · followers, visits, leads, conversions and "
        "revenue, as measured by the shop and the site's analytics"
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
