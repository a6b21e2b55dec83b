"""Goals: one target per metric for the year; admins and managers edit, viewers read."""

import streamlit as st
from sqlmodel import Session

from services.common.i18n import N_
from services.reports import formatting as fmt
from services.reports import queries, ui, value
from services.reports.goals import set_goal
from services.reports.models import COUNTING, GoalMetric

HELP = {
    GoalMetric.impressions: "impressions in the year",
    GoalMetric.reach: "reach summed over the year",
    GoalMetric.engagement: "likes, comments, replies, shares, mentions, saves and clicks",
    GoalMetric.moments: "meaningful relationship moments logged",
    GoalMetric.responded_within_1h_rate: "share of conversations answered within an hour",
    GoalMetric.median_first_response_s: "median first response (lower is better)",
    GoalMetric.social_share: "share of support conversations on social rather than email",
    GoalMetric.first_response_sla_met_rate: (
        "share of conversations answered within the first-response target in business hours"
    ),
    GoalMetric.median_first_response_business_s: (
        "median first response counted in business hours (lower is better)"
    ),
    GoalMetric.support_savings: "support moved off email, in money (value model, Settings)",
    GoalMetric.earned_media_value: "impressions and clicks priced as paid media (value model)",
    GoalMetric.total_value: "support savings + earned media + moments, in money",
    GoalMetric.net_growth: "followers gained since 1 January, all networks",
    GoalMetric.visits: "sessions on your site that came from social",
    GoalMetric.leads: "sign-ups and lead forms from social",
    GoalMetric.conversions: "purchases and goal completions from social",
    GoalMetric.revenue: "conversion revenue in the value model's currency (else USD)",
    GoalMetric.conversion_rate: "conversions / visits from social",
}
# Response quality (docs/figures.md#response-quality-and-share-of-voice).
HELP |= {
    GoalMetric.csat: N_("share of rated conversations rated 4 or 5"),
    GoalMetric.share_of_voice: N_("the brand's mentions / all mentions, competitors' included"),
    GoalMetric.reopen_rate: N_(
        "share of resolved conversations the customer reopened (lower is better)"
    ),
}

MONEY = frozenset(
    {
        GoalMetric.support_savings,
        GoalMetric.earned_media_value,
        GoalMetric.total_value,
        GoalMetric.revenue,
    }
)


def shown(metric: GoalMetric, stored: float) -> float:
    """A stored target in the unit people type: percent for rates, minutes for times."""
    if fmt.is_rate(metric.value):
        return stored * 100
    if fmt.is_duration(metric.value):
        return stored / 60
    return stored


def stored(metric: GoalMetric, typed: float) -> float:
    if fmt.is_rate(metric.value):
        return typed / 100
    if fmt.is_duration(metric.value):
        return typed * 60
    return typed


def entry_text(metric: GoalMetric, value: float) -> str:
    """A stored target as the form shows it: whole counts with thousands separators."""
    if metric in COUNTING and metric not in MONEY:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def unit(metric: GoalMetric, currency: str) -> str:
    if fmt.is_rate(metric.value):
        return "%"
    if fmt.is_duration(metric.value):
        return "minutes"
    return currency if metric in MONEY else ""


with ui.timed_page("goals"):
    f: ui.Filters = st.session_state["filters"]
    viewer: ui.Viewer = st.session_state["viewer"]
    st.title(f"Goals for {f.year}")
    st.caption("Company-wide yearly targets; the Overview shows the pace against each.")
    current = queries.goals(ui.engine(), f.year)  # uncached: edits show at once
    model = value.load(ui.engine(), f.year)
    currency = model.currency if model else "USD"

    def target_text(metric: GoalMetric) -> str:
        target = current.get(metric.value)
        if target is None:
            return fmt.NONE
        if metric in MONEY:
            return value.money(target, currency, whole=True)
        return fmt.metric(metric.value, target)

    if not viewer.can_edit_goals:
        st.info("You can read the goals; admins and managers set them.")
        ui.table(
            [
                {"Goal": fmt.label(m.value), "Target": target_text(m), "Meaning": HELP[m]}
                for m in GoalMetric
            ],
            download="Download goals (CSV)",
            file=f"goals-{f.year}.csv",
        )
        st.stop()
    st.caption("Type a number as you would say it: 55,000,000 or 55M. Leave a goal empty for none.")
    with st.form("goals"):
        typed: dict[GoalMetric, str] = {}
        for metric in GoalMetric:
            suffix = unit(metric, currency)
            unit_text = (
                f", in {suffix}" if suffix == "minutes" else f" ({suffix})" if suffix else ""
            )
            target = current.get(metric.value)
            typed[metric] = st.text_input(
                fmt.label(metric.value) + unit_text,
                value="" if not target else entry_text(metric, shown(metric, target)),
                placeholder="no goal",
                help=HELP[metric],
                key=f"goal_{f.year}_{metric.value}",
            )
        saved = st.form_submit_button("Save goals")
    if saved:
        values, problems = {}, []
        for metric, text in typed.items():
            try:
                amount = fmt.parse_amount(text)
            except ValueError as exc:
                problems.append(f"{fmt.label(metric.value)}: {exc}")
                continue
            if amount is not None and fmt.is_rate(metric.value) and amount > 100:
                problems.append(f"{fmt.label(metric.value)}: a share is at most 100 %")
                continue
            values[metric] = stored(metric, amount or 0.0)
        if problems:
            st.error("Not saved. " + " · ".join(problems))
            st.stop()
        with Session(ui.engine()) as session:
            for metric, target in values.items():
                if target > 0 or metric.value in current:
                    set_goal(session, year=f.year, metric=metric, target=target, actor=viewer.name)
        st.cache_data.clear()
        st.success("Goals saved.")
