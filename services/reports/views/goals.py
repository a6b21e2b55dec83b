"""Goals: one target per metric for the year; admins and managers edit, viewers read."""

import streamlit as st
from sqlmodel import Session

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
            return value.money(target, currency)
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
    with st.form("goals"):
        values = {}
        for metric in GoalMetric:
            whole = metric in COUNTING and metric not in MONEY
            suffix = unit(metric, currency)
            unit_text = (
                f", in {suffix}" if suffix == "minutes" else f" ({suffix})" if suffix else ""
            )
            typed = st.number_input(
                fmt.label(metric.value) + unit_text,
                min_value=0 if whole else 0.0,
                max_value=100.0 if fmt.is_rate(metric.value) else None,
                value=(
                    int(current.get(metric.value, 0))
                    if whole
                    else round(shown(metric, current.get(metric.value, 0.0)), 2)
                ),
                step=1000 if whole else (1.0 if fmt.is_rate(metric.value) else 5.0),
                format="%d" if whole else "%.1f" if suffix in ("%", "minutes") else "%.2f",
                help=HELP[metric] + " · 0 means no goal",
                key=f"goal_{f.year}_{metric.value}",
            )
            values[metric] = stored(metric, float(typed))
            if typed and whole:
                st.caption(f"= {fmt.number(float(typed))}")
        saved = st.form_submit_button("Save goals")
    if saved:
        with Session(ui.engine()) as session:
            for metric, target in values.items():
                if target > 0 or metric.value in current:
                    set_goal(session, year=f.year, metric=metric, target=target, actor=viewer.name)
        st.cache_data.clear()
        st.success("Goals saved.")
