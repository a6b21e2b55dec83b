"""Goals: one target per metric for the year; admins and managers edit, viewers read."""

import streamlit as st
from sqlmodel import Session

from services.reports import queries, ui
from services.reports.goals import set_goal
from services.reports.models import COUNTING, GoalMetric

HELP = {
    GoalMetric.impressions: "impressions in the year",
    GoalMetric.reach: "reach summed over the year",
    GoalMetric.engagement: "likes, comments, replies, shares, mentions, saves and clicks",
    GoalMetric.moments: "meaningful relationship moments logged",
    GoalMetric.responded_within_1h_rate: "share of conversations answered within an hour (0-1)",
    GoalMetric.median_first_response_s: "median first response in seconds (lower is better)",
    GoalMetric.social_share: "share of support conversations on social rather than email (0-1)",
    GoalMetric.first_response_sla_met_rate: (
        "share of conversations answered within the first-response target in business hours (0-1)"
    ),
    GoalMetric.median_first_response_business_s: (
        "median first response in business seconds (lower is better)"
    ),
    GoalMetric.support_savings: "support moved off email, in money (value model, Settings)",
    GoalMetric.earned_media_value: "impressions and clicks priced as paid media (value model)",
    GoalMetric.total_value: "support savings + earned media + moments, in money",
}

with ui.timed_page("goals"):
    f: ui.Filters = st.session_state["filters"]
    viewer: ui.Viewer = st.session_state["viewer"]
    st.title(f"Goals for {f.year}")
    current = queries.goals(ui.engine(), f.year)  # uncached: edits show at once
    if not viewer.can_edit_goals:
        st.info("You can read the goals; admins and managers set them.")
        st.dataframe(
            [
                {"metric": m.value, "target": current.get(m.value), "meaning": HELP[m]}
                for m in GoalMetric
            ],
            hide_index=True,
            width="stretch",
        )
        st.stop()
    with st.form("goals"):
        values = {}
        for metric in GoalMetric:
            is_rate = metric in (GoalMetric.responded_within_1h_rate, GoalMetric.social_share)
            values[metric] = st.number_input(
                metric.value.replace("_", " "),
                min_value=0.0,
                max_value=1.0 if is_rate else None,
                value=float(current.get(metric.value, 0.0)),
                step=0.05 if is_rate else (1.0 if metric in COUNTING else 60.0),
                help=HELP[metric] + " · 0 means no goal",
                key=f"goal_{f.year}_{metric.value}",
            )
        saved = st.form_submit_button("Save goals")
    if saved:
        with Session(ui.engine()) as session:
            for metric, target in values.items():
                if target > 0 or metric.value in current:
                    set_goal(session, year=f.year, metric=metric, target=target, actor=viewer.name)
        st.cache_data.clear()
        st.success("Goals saved.")
