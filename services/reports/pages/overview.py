"""Overview: the three lenses against the year's goals at a glance."""

import datetime as dt
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from services.common import csv_export
from services.reports import queries, ui, value
from services.reports.figures import (
    iso_week,
    moment_breakdown,
    traffic_light,
    weekly_brand,
    weekly_support,
)
from services.reports.summary import fmt_metric, fmt_rate, fmt_seconds, summary

LIGHTS = {"green": "on pace", "amber": "slightly behind", "red": "behind", "grey": "no data"}
COLOURS = {"green": "green", "amber": "orange", "red": "red", "grey": "gray"}


def weekly_value_chart(model: value.ValueModel, f: ui.Filters) -> None:
    """What each week earned, stacked by part, against the running total."""
    period = f.period()
    facts = ui.cached(
        "conversations",
        lambda: queries.conversations(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    daily = ui.cached(
        "daily_by_kind",
        lambda: queries.daily_by_kind(ui.engine(), period, network=f.network, account=f.account),
        f,
    )
    moment_facts = ui.cached(
        "moments", lambda: queries.moments(ui.engine(), period, network=f.network), f
    )
    social = {w["week"]: value.social_conversations(w) for w in weekly_support(facts, period)}
    clicks: dict[str, int] = {}
    for day, kind, count in daily:
        if kind == "click":
            clicks[iso_week(day)] = clicks.get(iso_week(day), 0) + count
    rows = value.weekly_value(
        model,
        social_per_week=social,
        brand_weeks=weekly_brand(daily, period),
        clicks_per_week=clicks,
        moments_per_week=moment_breakdown(moment_facts, period)["per_week"],
    )
    if not rows:
        return
    frame = pd.DataFrame(rows)
    frame["week of"] = [week_start(w) for w in frame["week"]]
    parts = {
        "support_savings": "Support savings",
        "earned_media_value": "Earned media",
        "moments_value": "Moments",
    }
    frame = frame.rename(columns=parts)
    figure = px.bar(
        frame,
        x="week of",
        y=list(parts.values()),
        title=f"What each week earned ({model.currency})",
        labels={"value": model.currency, "variable": "part"},
    )
    figure.add_scatter(
        x=frame["week of"], y=frame["cumulative_value"], name="year to date", yaxis="y2"
    )
    figure.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "title": "year to date", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
    )
    st.plotly_chart(figure, width="stretch")


def week_start(week: str) -> dt.date:
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def earned_panel(data: dict[str, Any], f: ui.Filters) -> None:
    """What social earned: the money, its parts and assumptions, and a what-if view."""
    st.subheader("What social earned")
    money = data["value"]
    model = value.load(ui.engine(), f.year)
    if money is None or model is None:
        st.info(
            "No value model for this year: set its assumptions (cost of an email and of a social "
            "contact, CPM, CPC, value of a moment, programme cost) on the Settings page."
        )
        return
    c = money["currency"]
    figures, assumed = st.columns([3, 2])
    with figures:
        a, b = st.columns(2)
        a.metric("Total value", value.money(money["total_value"], c))
        b.metric(
            "Return on the programme",
            "-" if money["roi"] is None else f"{money['roi'] * 100:,.0f} %",
            help="(total value - programme cost to date) / programme cost to date",
        )
        a.metric("Support savings", value.money(money["support_savings"], c))
        b.metric("Earned media", value.money(money["earned_media_value"], c))
        a.metric("Moments", value.money(money["moments_value"], c))
        b.metric("Programme cost to date", value.money(money["program_cost_to_date"], c))
        ui.completeness_line(f)
    with assumed:
        st.markdown("**Assumptions** (Settings)")
        st.dataframe(
            [{"assumption": k, "value": v} for k, v in value.assumptions(model)],
            hide_index=True,
            width="stretch",
        )
    weekly_value_chart(model, f)
    with st.expander("What if? Change an assumption and see the money move (nothing is saved)"):
        cols = st.columns(3)
        changed = {
            name: cols[n % 3].number_input(
                value.LABELS[name],
                min_value=0.0,
                value=float(getattr(model, name)),
                key=f"if_{name}",
            )
            for n, name in enumerate(value.AMOUNTS)
        }
        totals = ui.cached(
            "kind_totals",
            lambda: queries.kind_totals(
                ui.engine(), f.period(), network=f.network, account=f.account
            ),
            f,
        )
        what_if = value.of_summary(
            model.with_changes(**changed),
            support=data["support"],
            brand=data["brand"],
            moments=data["moments"],
            clicks=int(totals.get("click", 0)),
            period=f.period(),
        )
        delta = what_if["total_value"] - money["total_value"]
        x, y = st.columns(2)
        x.metric(
            "Total value, what if", value.money(what_if["total_value"], c), value.money(delta, c)
        )
        y.metric(
            "Return, what if",
            "-" if what_if["roi"] is None else f"{what_if['roi'] * 100:,.0f} %",
        )


with ui.timed_page("overview"):
    f: ui.Filters = st.session_state["filters"]
    data = ui.cached(
        "summary",
        lambda: summary(
            ui.engine(),
            year=f.year,
            as_of=f.as_of,
            tz=ui.settings().timezone,
            network=f.network,
            account=f.account,
        ),
        f,
    )
    st.title(f"Is social paying off? {f.year}")
    st.caption(
        f"Year to date as of {data['as_of']} · figures as defined in Rapport's report contract"
    )
    s, b, m = data["support"], data["brand"], data["moments"]
    if not s["conversations"] and not b["impressions"] and not b["engagement"] and not m["count"]:
        ui.empty_state()
    support, brand, moments = st.columns(3)
    with support:
        st.subheader("Customer-support impact")
        # Each figure opens the conversations behind it (same period and filters).
        st.metric("Answered within 1 h", fmt_rate(s["responded_within_1h_rate"]))
        ui.conversations_link("Answered within 1 h", only="within_1h")
        st.metric(
            "Median first response",
            fmt_seconds(s["median_first_response_s"]),
            help="calendar time; in business hours: "
            + fmt_seconds(s["median_first_response_business_s"]),
        )
        ui.conversations_link("The first responses", only="answered")
        st.metric(
            "First-response SLA met (business hours)",
            fmt_rate(s["first_response_sla_met_rate"]),
            help=f"{s['sla_breaches']:,} breaches; targets and hours on the Settings page",
        )
        ui.conversations_link("The SLA breaches", sla="breached")
        st.metric(
            "Conversations",
            f"{s['conversations']:,}",
            help="support conversations started this year",
        )
        ui.conversations_link("All of them")
        st.metric("Social share of support", fmt_rate(s["social_share"]))
        ui.conversations_link("On social networks", only="social")
    with brand:
        st.subheader("Brand impact")
        st.metric("Impressions", f"{b['impressions']:,}")
        st.metric("Reach", f"{b['reach']:,}")
        st.metric("Engagement", f"{b['engagement']:,}")
        st.metric("Engagement rate", fmt_rate(b["engagement_rate"]))
    with moments:
        st.subheader("Meaningful moments")
        st.metric("Moments", f"{m['count']:,}")
        st.metric("With existing customers", f"{m['existing_customer']:,}")
    ui.completeness_line(f)
    earned_panel(data, f)
    st.subheader("Goals")
    if not data["goals"]:
        st.info("No goals set for this year yet: set them on the Goals page (admins and managers).")
    else:
        rows = []
        colours = []
        for metric, g in data["goals"].items():
            light = traffic_light(g["pace"])
            colours.append(COLOURS[light])
            rows.append(
                {
                    "Goal": metric.replace("_", " "),
                    "Actual": fmt_metric(metric, g["actual"]),
                    "Target": fmt_metric(metric, g["target"]),
                    "Pace": "-" if g["pace"] is None else f"{g['pace']:.2f}",
                    "Status": LIGHTS[light],
                    "Projected year end": fmt_metric(metric, g["projected_year_end"]),
                }
            )
        # A plain table (not a canvas grid): readable in screenshots, printouts and screen readers.
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        for row, colour in zip(rows, colours, strict=True):
            cells = [str(v) for v in row.values()]
            cells[4] = f":{colour}[● {cells[4]}]"
            lines.append("| " + " | ".join(cells) + " |")
        st.markdown("\n".join(lines))
        st.download_button(
            "Download goals (CSV)",
            csv_export.records(rows),
            file_name=f"rapport-goals-{f.year}.csv",
            mime="text/csv",
        )
