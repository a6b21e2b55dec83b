"""Moments: counts per week and month, breakdowns, and the most recent moments."""

import datetime as dt

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.common.i18n import N_
from services.domain.tables import Moment
from services.reports import cache, charts, plots, reads, ui
from services.reports import formatting as fmt
from services.reports.figures import moment_breakdown

sp = ui.speaker()
_ = sp._

with cache.timed_page("moments"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    facts = reads.moments(period, network=f.network)
    ui.page_title(_("Meaningful relationship moments"), f)
    if f.account:
        st.caption(
            _(
                "Moments belong to a network, not to one of your accounts: the account filter "
                "does not narrow them."
            )
        )
    data = moment_breakdown(facts, period)
    if not data["count"]:
        st.info(
            _("No moments logged for this period yet. Log them at {url}.", url=ui.moments_url())
        )
        st.stop()
    a, b, c = st.columns(3)
    a.metric(_("Moments"), fmt.number(data["count"], sp))
    b.metric(_("Share with existing customers"), fmt.rate(data["existing_customer_share"], sp))
    c.metric(
        _("Proactive (we reached out)"),
        fmt.number(data["by_initiated_by"].get("proactive", 0), sp),
    )

    def moment_charts() -> list[go.Figure]:
        """Per month, per week, then the four breakdowns."""
        made: list[go.Figure] = []
        moments_word = _("moments")
        months = pd.DataFrame(
            {
                "month": [fmt.month(m, sp) for m in data["per_month"]],
                moments_word: list(data["per_month"].values()),
            }
        )
        chart = px.bar(
            months,
            x="month",
            y=moments_word,
            title=plots.chart_title(_("Moments per month"), f),
            labels={"month": ""},  # the month's name says what it is (in a hover too)
        )
        chart.update_layout(
            xaxis={"title": None, "type": "category"}, yaxis={"title": moments_word}
        )
        plots.hover(chart, lambda _name, x, y: plots.said(x, moments_word, fmt.number(y, sp)))
        # The month in progress lighter, as a part week is: fewer days, not fewer moments.
        last = list(data["per_month"])[-1] if data["per_month"] else None
        cut = last == f"{period.as_of:%Y-%m}" and (period.as_of + dt.timedelta(days=1)).day != 1
        chart.update_traces(
            marker_opacity=[
                0.35 if cut and i == len(months) - 1 else 1.0 for i in range(len(months))
            ]
        )
        made.append(chart)
        week_of = _("Week of")
        weeks = pd.DataFrame(
            {
                week_of: [fmt.week_start(w) for w in data["per_week"]],
                moments_word: list(data["per_week"].values()),
            }
        )
        chart = px.bar(
            weeks, x=week_of, y=moments_word, title=plots.chart_title(_("Moments per week"), f)
        )
        chart.update_layout(
            xaxis={"title": None, "tickformat": "%-d %b"}, yaxis={"title": moments_word}
        )
        plots.hover(
            chart,
            lambda _n, x, y: plots.said(plots.week_of(x, period), moments_word, fmt.number(y, sp)),
        )
        plots.part_weeks(chart, list(data["per_week"]), period)
        made.append(chart)
        breakdowns = (
            ("by_network", N_("By network")),
            ("by_customer_status", N_("By customer status")),
            ("by_outcome", N_("By outcome")),
            ("by_initiated_by", N_("Reactive or proactive")),
        )
        for key, title in breakdowns:
            counts = sorted(data[key].items(), key=lambda item: item[1])
            frame = pd.DataFrame(
                {
                    "group": [fmt.word(g, sp) for g, _n in counts],
                    moments_word: [n for _g, n in counts],
                }
            )
            chart = px.bar(
                frame,
                x=moments_word,
                y="group",
                orientation="h",
                title=plots.chart_title(_(title), f),
                text=moments_word,
                labels={"group": ""},
            )
            chart.update_layout(
                yaxis={"title": None, "type": "category", "automargin": True},
                xaxis={"title": None},
                height=80 + 34 * max(len(frame), 1),
                margin={"l": 10, "r": 10, "t": 50, "b": 10},
            )
            chart.update_traces(
                customdata=[
                    plots.said(None, g, fmt.number(n, sp))
                    for g, n in zip(frame["group"], frame[moments_word], strict=True)
                ],
                hovertemplate=plots.HOVER,
            )
            made.append(chart)
        return [charts.for_reader(chart, sp) for chart in made]

    per_month, per_week, *by = plots.built("moments.charts", moment_charts, f)
    plots.shown(per_month)
    plots.shown(per_week)
    st.caption(_(plots.PART_WEEKS))
    # Breakdowns as labelled bars, two to a row: every label readable on any width.
    for pair in (by[:2], by[2:]):
        for column, chart in zip(st.columns(2), pair, strict=True):
            plots.shown(chart, column)
    st.subheader(_("Most recent moments in this period"))
    recent = reads.recent_moments(period.first_day, period.as_of, network=f.network, limit=15)
    opened = _("Open")
    table = pd.DataFrame(
        [
            {
                opened: f"{ui.moments_url()}/moments/{r['id']}",
                _("Date"): fmt.day(dt.date.fromisoformat(str(r["occurred_on"])[:10]), sp),
                _("Network"): ui.network_name(str(r["network"]), sp),
                _("People"): ", ".join(Moment.decode_list(str(r["people"]))),
                _("Customer status"): fmt.word(str(r["customer_status"]), sp),
                _("What changed"): r["change"],
            }
            for r in recent
        ]
    )
    ui.dataframe(
        table,
        column_config={opened: st.column_config.LinkColumn(_("Moment"), display_text=_("open"))},
    )
    ui.csv_download(
        _("Download these moments (CSV)"),
        csv_export.frame(table),
        f"moments-{f.year}-as-of-{period.as_of.isoformat()}.csv",
    )
