"""Goals: one target per metric for the year; admins and managers edit, viewers read."""

import streamlit as st
from sqlmodel import Session

from services.common.i18n import N_
from services.reports import cache, queries, ui, value
from services.reports import formatting as fmt
from services.reports.goal_metrics import COUNTING, GoalMetric
from services.reports.goals import set_goal

HELP = {
    GoalMetric.impressions: N_("impressions in the year"),
    GoalMetric.reach: N_("reach summed over the year"),
    GoalMetric.engagement: N_("likes, comments, replies, shares, mentions, saves and clicks"),
    GoalMetric.moments: N_("meaningful relationship moments logged"),
    GoalMetric.responded_within_1h_rate: N_("share of conversations answered within an hour"),
    GoalMetric.median_first_response_s: N_("median first response (lower is better)"),
    GoalMetric.social_share: N_("share of support conversations on social rather than email"),
    GoalMetric.first_response_sla_met_rate: N_(
        "share of conversations answered within the first-response target in business hours"
    ),
    GoalMetric.median_first_response_business_s: N_(
        "median first response counted in business hours (lower is better)"
    ),
    GoalMetric.support_savings: N_("support moved off email, in money (value model, Settings)"),
    GoalMetric.earned_media_value: N_("impressions and clicks priced as paid media (value model)"),
    GoalMetric.total_value: N_("support savings + earned media + moments, in money"),
    GoalMetric.net_growth: N_("followers gained since 1 January, all networks"),
    GoalMetric.visits: N_("sessions on your site that came from social"),
    GoalMetric.leads: N_("sign-ups and lead forms from social"),
    GoalMetric.conversions: N_("purchases and goal completions from social"),
    GoalMetric.revenue: N_("conversion revenue in the value model's currency (else USD)"),
    GoalMetric.conversion_rate: N_("conversions / visits from social"),
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
    """A stored target as the form shows it: whole counts with thousands separators (in Latin
    digits in every language: the form reads what it shows back as a number)."""
    if metric in COUNTING and metric not in MONEY:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def unit(metric: GoalMetric, currency: str) -> str:
    if fmt.is_rate(metric.value):
        return "%"
    if fmt.is_duration(metric.value):
        return MINUTES
    return currency if metric in MONEY else ""


MINUTES = N_("minutes")
sp = ui.speaker()
_ = sp._

with cache.timed_page("goals"):
    f: ui.Filters = st.session_state["filters"]
    viewer: ui.Viewer = st.session_state["viewer"]
    st.title(_("Goals for {year}", year=sp.digits(str(f.year))))
    st.caption(_("Company-wide yearly targets; the Overview shows the pace against each."))
    current = queries.goals(cache.engine(), f.year)  # uncached: edits show at once
    model = value.load(cache.engine(), f.year)
    currency = model.currency if model else "USD"

    def target_text(metric: GoalMetric) -> str:
        target = current.get(metric.value)
        if target is None:
            return fmt.NONE
        if metric in MONEY:
            return fmt.money(target, currency, sp, whole=True)
        return fmt.metric(metric.value, target, sp)

    if not viewer.can_edit_goals:
        st.info(_("You can read the goals; admins and managers set them."))
        ui.table(
            [
                {
                    _("Goal"): fmt.label(m.value, sp),
                    _("Target"): target_text(m),
                    _("Meaning"): _(HELP[m]),
                }
                for m in GoalMetric
            ],
            download=_("Download goals (CSV)"),
            file=f"goals-{f.year}.csv",
        )
        st.stop()
    st.caption(
        _("Type a number as you would say it: 55,000,000 or 55M. Leave a goal empty for none.")
    )
    with st.form("goals"):
        typed: dict[GoalMetric, str] = {}
        for metric in GoalMetric:
            suffix = unit(metric, currency)
            name = fmt.label(metric.value, sp)
            target = current.get(metric.value)
            typed[metric] = st.text_input(
                _("{goal}, in minutes", goal=name)
                if suffix == MINUTES
                else f"{name} ({suffix})"
                if suffix
                else name,
                value="" if not target else entry_text(metric, shown(metric, target)),
                placeholder=_("no goal"),
                help=_(HELP[metric]),
                key=f"goal_{f.year}_{metric.value}",
            )
        saved = st.form_submit_button(_("Save goals"))
    if saved:
        values, problems = {}, []
        for metric, text in typed.items():
            try:
                amount = fmt.parse_amount(text)
            except ValueError:
                problems.append(
                    _(
                        "{goal}: {typed} is not a number of 0 or more (e.g. 55,000,000 or 55M)",
                        goal=fmt.label(metric.value, sp),
                        typed=ui.plain(repr(text.strip())),
                    )
                )
                continue
            if amount is not None and fmt.is_rate(metric.value) and amount > 100:
                problems.append(
                    _("{goal}: a share is at most 100 %", goal=fmt.label(metric.value, sp))
                )
                continue
            values[metric] = stored(metric, amount or 0.0)
        if problems:
            st.error(_("Not saved.") + " " + " · ".join(problems))
            st.stop()
        with Session(cache.engine()) as session:
            for metric, target in values.items():
                if target > 0 or metric.value in current:
                    set_goal(session, year=f.year, metric=metric, target=target, actor=viewer.name)
        cache.clear()
        st.success(_("Goals saved."))
