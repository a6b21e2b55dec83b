"""Overview: the three lenses against the year's goals at a glance."""

import html
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from services.common import csv_export
from services.common.i18n import N_
from services.reports import cache, plots, quality_view, reads, ui, value
from services.reports import formatting as fmt
from services.reports.figures import (
    traffic_light,
)
from services.reports.goal_metrics import COUNTING, LOWER_IS_BETTER
from services.reports.overview_charts import WITHIN_1H, trends, weekly_value_chart

sp = ui.speaker()  # this run's reader; the page runs anew for every view
_ = sp._


def whole(amount: float | None, currency: str) -> str:
    """Whole units, as an executive reads totals, in the reader's language."""
    return fmt.money(amount, currency, sp, whole=True)


BAR_COLOURS = {"green": "#1f7a4d", "amber": "#b7791f", "red": "#b42318", "grey": "#8a94a6"}
LIGHTS = {
    "green": N_("on pace"),
    "amber": N_("slightly behind"),
    "red": N_("behind"),
    "grey": N_("no data"),
}
COLOURS = {"green": "green", "amber": "orange", "red": "red", "grey": "gray"}


MONEY_GOALS = ("support_savings", "earned_media_value", "total_value", "revenue")


def goal_text(metric: str, amount: float | None, currency: str) -> str:
    if metric in MONEY_GOALS and amount is not None:
        return whole(amount, currency)
    return fmt.metric(metric, amount, sp)


def goal_bars(goals: dict[str, dict[str, Any]], f: ui.Filters) -> None:
    """Are we on track? Each goal's progress as a bar, with a tick where it should be today
    (counting goals: the share of the year gone; rates and times: the target itself)."""
    if any(g["actual"] is not None and g["target"] for g in goals.values()):
        st.caption(
            _("Each bar: the share of the target reached; the tick: where it should be today.")
        )
        plots.chart("overview.goal_bars", lambda: goal_figure(goals, f.period()), f)


def goal_figure(goals: dict[str, dict[str, Any]], period: Any) -> go.Figure:
    rows = []
    for metric, g in goals.items():
        if g["actual"] is None or not g["target"]:
            continue
        if metric in COUNTING:
            done, expected = g["actual"] / g["target"], period.elapsed_days / period.days_in_year
        elif metric in LOWER_IS_BETTER:
            done, expected = g["pace"], 1.0
        else:
            done, expected = g["actual"] / g["target"], 1.0
        rows.append(
            (fmt.label(metric, sp), min(done, 1.5), expected, traffic_light(g["pace"]), g["pace"])
        )
    labels = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(
        y=labels,
        x=[r[1] for r in rows],
        orientation="h",
        marker_color=[BAR_COLOURS[r[3]] for r in rows],
        # The share reached and the pace (the table's figure) side by side: for a yearly count
        # they differ (97 % of the target reached in December is 104 % of the pace).
        text=[
            _(
                "{share} of target · pace {pace}",
                share=fmt.percent(r[1], sp),
                pace=fmt.percent(r[4], sp),
            )
            for r in rows
        ],
        textposition="inside",
        name=_("progress"),
        customdata=[
            _("{goal}: {share} of the target", goal=r[0], share=fmt.percent(r[1], sp)) for r in rows
        ],
        hovertemplate=plots.HOVER,
    )
    figure.add_scatter(
        y=labels,
        x=[r[2] for r in rows],
        mode="markers",
        marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": "#1d2330"}},
        name=_("where it should be today"),
        customdata=[
            _("{goal}: expected {share} by today", goal=r[0], share=fmt.percent(r[2], sp))
            for r in rows
        ],
        hovertemplate=plots.HOVER,
    )
    figure.update_layout(
        title=_("Progress against each goal"),
        xaxis={"tickformat": ".0%", "range": [0, 1.5], "title": None},
        yaxis={"autorange": "reversed", "automargin": True, "title": None},
        showlegend=False,
        height=90 + 44 * len(rows),
        margin={"t": 50, "b": 30},
    )
    return figure


def returns(money: dict[str, Any]) -> None:
    """The modelled return beside the measured one, each with how it was worked out."""
    c = money["currency"]
    modelled, measured = st.columns(2)
    with modelled:
        st.metric(_("Return on the programme, modelled"), fmt.percent(money["roi"], sp))
        st.caption(
            _(
                "(total value {value} - programme cost to date) ÷ programme cost to date: "
                "savings, earned media and moments, priced by the assumptions.",
                value=whole(money["total_value"], c),
            )
        )
    with measured:
        st.metric(_("Return on the programme, measured"), fmt.percent(money["measured_roi"], sp))
        st.caption(
            _(
                "(revenue from social {revenue} - programme cost to date) ÷ programme cost to "
                "date: orders and key events that came from social, in {currency} only (no "
                "exchange rates).",
                revenue=whole(money["attributed_revenue"], c),
                currency=c,
            )
        )


def outcomes_row(audience: dict[str, Any], results: dict[str, Any], currency: str | None) -> None:
    """The headline outcomes; the Outcomes page has the rest. Revenue in one currency (the
    value model's, else the first), the others in its help: amounts are never added across
    currencies, and a line of several does not fit a metric."""
    st.subheader(_("Outcomes from social"))
    a, b, c, d = st.columns(4)
    ui.followers_metric(a, audience)
    b.metric(_("Visits from social"), fmt.number(results["visits"], sp))
    c.metric(
        _("Conversions"),
        fmt.number(results["conversions"], sp),
        help=_("{rate} of visits", rate=fmt.rate(results["conversion_rate"], sp)),
    )
    revenue = results["revenue"]
    shown = currency if currency in revenue else next(iter(revenue), None)
    d.metric(
        _("Revenue from social"),
        whole(revenue[shown], shown) if shown else fmt.NONE,
        help=_("every currency: {amounts}", amounts=fmt.amounts(revenue, sp, whole=True)),
    )


def earned_panel(data: dict[str, Any], f: ui.Filters) -> None:
    """What social earned: the money, its parts and assumptions, and a what-if view."""
    st.subheader(_("What social earned"))
    money = data["value"]
    model = value.load(cache.engine(), f.year)
    if money is None or model is None:
        st.info(
            _(
                "No value model for this year: set its assumptions (cost of an email and of a "
                "social contact, CPM, CPC, value of a moment, programme cost) on the Settings "
                "page."
            )
        )
        return
    c = money["currency"]
    figures, assumed = st.columns([3, 2])
    with figures:
        a, b = st.columns(2)
        a.metric(_("Total value"), whole(money["total_value"], c))
        if f.sliced:
            # The programme's cost is the whole programme's: set against one slice's value or
            # revenue it would understate the return, so neither return is shown there.
            b.metric(_("Return on the programme"), "—", help=_(WHOLE_PROGRAMME))
            st.caption(_(WHOLE_PROGRAMME))
        else:
            b.metric(_("Programme cost to date"), whole(money["program_cost_to_date"], c))
            returns(money)
        a, b = st.columns(2)
        a.metric(_("Support savings"), whole(money["support_savings"], c))
        b.metric(_("Earned media"), whole(money["earned_media_value"], c))
        a.metric(_("Moments"), whole(money["moments_value"], c))
        ui.completeness_line(f)
    with assumed:
        st.markdown(_("**Assumptions** (Settings)"))
        ui.assumptions_table(model, f.year)
    weekly_value_chart(model, f)
    with st.expander(_("What if? Change an assumption and see the money move (nothing is saved)")):
        cols = st.columns(3)
        # Amounts as people write them (120,000, not 120000.00), read back as typed.
        changed: dict[str, float] = {}
        for n, name in enumerate(value.AMOUNTS):
            stored = float(getattr(model, name))
            field = _(value.LABELS[name])
            typed = cols[n % 3].text_input(field, value=fmt.typed(stored), key=f"if_{name}")
            try:
                amount = value.typed_amount(field, typed)
            except value.ValueModelError as exc:
                cols[n % 3].warning(ui.plain(exc.said_in(sp)))
                amount = None
            changed[name] = stored if amount is None else amount
        totals = reads.kind_totals(f.period(), network=f.network, account=f.account)
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
            _("Total value, what if"),
            whole(what_if["total_value"], c),
            **ui.change(delta, lambda size: whole(size, c)),
        )
        y.metric(_("Return, what if"), "—" if f.sliced else fmt.percent(what_if["roi"], sp))


WHOLE_PROGRAMME = N_(
    "The return sets the value against the whole programme's cost, so it is shown for all "
    "networks and accounts only: choose them in the sidebar."
)
SOCIAL_SHARE_ALL = N_(
    "The share of support given on social networks rather than by email: it compares networks, "
    "so it is shown for all networks and accounts only."
)
# The goals table: Streamlit's own table look on a wide screen; on a phone a card per goal, its
# four figures two by two under its name, so nothing is cut and nothing scrolls sideways.
GOALS_STYLE = """
<style>
table.goals { border-collapse: collapse; font-size: .95rem; }
table.goals th, table.goals td { border: 1px solid rgba(49, 51, 63, .12); padding: .4rem .75rem;
  text-align: start; vertical-align: top; }
table.goals thead th, table.goals th[scope=row] { font-weight: 600; }
table.goals .green { color: #1f7a4d; } table.goals .orange { color: #9a5b00; }
table.goals .red { color: #b42318; } table.goals .gray { color: #5b6478; }
@media (max-width: 640px) {
  table.goals, table.goals tbody { display: block; width: 100%; }
  table.goals thead { display: none; }
  table.goals tr { display: grid; grid-template-columns: 1fr 1fr; gap: .2rem .8rem;
    padding: .5rem 0; border-bottom: 1px solid rgba(49, 51, 63, .12); }
  table.goals th, table.goals td { border: none; padding: 0; }
  table.goals th[scope=row] { grid-column: 1 / -1; }
  table.goals td::before { content: attr(data-label); display: block; font-size: .75rem;
    color: #5b6478; }
}
</style>
"""


with cache.timed_page("overview"):
    f: ui.Filters = st.session_state["filters"]
    data = reads.summary(
        year=f.year,
        as_of=f.as_of,
        tz=cache.settings().timezone,
        network=f.network,
        account=f.account,
    )
    ui.page_title(_("Is social paying off? {year}", year=sp.digits(str(f.year))), f)
    s, b, m = data["support"], data["brand"], data["moments"]
    if not s["conversations"] and not b["impressions"] and not b["engagement"] and not m["count"]:
        ui.empty_state()
    support, brand, moments = st.columns(3)
    with support:
        st.subheader(_("Customer-support impact"))
        # Each figure opens the conversations behind it (same period and filters).
        st.metric(_(WITHIN_1H), fmt.rate(s["responded_within_1h_rate"], sp))
        ui.conversations_link(_(WITHIN_1H), only="within_1h")
        st.metric(
            _("Median first response"),
            fmt.duration(s["median_first_response_s"], sp),
            help=_(
                "calendar time; in business hours: {time}",
                time=fmt.duration(s["median_first_response_business_s"], sp),
            ),
        )
        ui.conversations_link(_("The first responses"), only="answered")
        st.metric(
            _("First-response SLA met (business hours)"),
            fmt.rate(s["first_response_sla_met_rate"], sp),
            help=sp.n_(
                "{n} breach; targets and hours on the Settings page",
                "{n} breaches; targets and hours on the Settings page",
                s["sla_breaches"],
            ),
        )
        ui.conversations_link(_("The SLA breaches"), sla="breached")
        st.metric(
            _("Conversations"),
            fmt.number(s["conversations"], sp),
            help=_("support conversations started this year"),
        )
        ui.conversations_link(_("All of them"))
        if f.sliced:  # within one network (or account) the share is 100 % or 0 %: no news
            st.metric(_("Social share of support"), "—", help=_(SOCIAL_SHARE_ALL))
        else:
            st.metric(_("Social share of support"), fmt.rate(s["social_share"], sp))
            ui.conversations_link(_("On social networks"), only="social")
        quality_view.figures(s, compact=True)
    with brand:
        st.subheader(_("Brand impact"))
        st.metric(_("Impressions"), fmt.number(b["impressions"], sp))
        st.metric(_("Reach"), fmt.number(b["reach"], sp))
        st.metric(_("Engagement"), fmt.number(b["engagement"], sp))
        st.metric(_("Engagement rate"), fmt.rate(b["engagement_rate"], sp))
    with moments:
        st.subheader(_("Meaningful moments"))
        st.metric(_("Moments"), fmt.number(m["count"], sp))
        st.metric(_("With existing customers"), fmt.number(m["existing_customer"], sp))
        st.metric(
            _("Conversions within 90 days"),
            fmt.number(m["influenced_conversions"], sp),
            help=_(
                "orders by people of a moment, within 90 days of it: {amounts}",
                amounts=fmt.amounts(m["influenced_revenue"], sp, whole=True),
            ),
        )
    outcomes_row(
        data["audience"], data["outcomes"], data["value"]["currency"] if data["value"] else None
    )
    ui.completeness_line(f)
    trends(f)
    earned_panel(data, f)
    st.subheader(_("Goals"))
    if f.network or f.account:
        st.info(
            _(
                "Goals are company-wide targets, so a network's or an account's slice is not "
                "held against them: choose All networks and All accounts to see the progress."
            )
        )
    elif not data["goals"]:
        st.info(
            _("No goals set for this year yet: set them on the Goals page (admins and managers).")
        )
    else:
        currency = data["value"]["currency"] if data["value"] else "USD"
        rows = []
        colours = []
        for metric, g in data["goals"].items():
            light = traffic_light(g["pace"])
            colours.append(COLOURS[light])
            rows.append(
                {
                    _("Goal"): fmt.label(metric, sp),
                    _("Actual"): goal_text(metric, g["actual"], currency),
                    _("Target"): goal_text(metric, g["target"], currency),
                    _("Pace"): fmt.percent(g["pace"], sp),
                    _("Status"): _(LIGHTS[light]),
                    _("Projected year end"): goal_text(metric, g["projected_year_end"], currency),
                }
            )
        # A plain table (not a canvas grid): readable in screenshots, printouts and screen readers.
        # Pace and status share a cell; on a phone each goal is a card of its labelled figures.
        heads = [_("Actual"), _("Target"), _("Pace"), _("Projected")]
        body = []
        for row, colour in zip(rows, colours, strict=True):
            goal, actual, target, pace, status, projected = (html.escape(v) for v in row.values())
            cells = [
                actual,
                target,
                f'<span class="{colour}">● {pace} · {status}</span>',
                projected,
            ]
            body.append(
                f'<tr><th scope="row">{goal}</th>'
                + "".join(
                    f'<td data-label="{html.escape(h)}">{c}</td>'
                    for h, c in zip(heads, cells, strict=True)
                )
                + "</tr>"
            )
        st.html(
            GOALS_STYLE
            + f'<table class="goals"><thead><tr><th scope="col">{html.escape(_("Goal"))}</th>'
            + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
            + f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
        goal_bars(data["goals"], f)
        ui.csv_download(
            _("Download goals (CSV)"), csv_export.records(rows), f"rapport-goals-{f.year}.csv"
        )
