"""Setting yearly goals (CLI and the Goals page share this verb)."""

from __future__ import annotations

from sqlmodel import Session

from services.common.clock import utcnow
from services.common.i18n import N_, Problem
from services.domain.tables import Goal
from services.reports.goal_metrics import GoalMetric

RATES = (
    GoalMetric.responded_within_1h_rate,
    GoalMetric.social_share,
    GoalMetric.conversion_rate,
)


class GoalError(Problem):
    """A target that cannot be a goal's; the message names the field."""


def set_goal(session: Session, *, year: int, metric: GoalMetric, target: float, actor: str) -> Goal:
    if target < 0:
        raise GoalError(N_("target: must be zero or more"))
    if metric in RATES and target > 1:
        raise GoalError(
            N_("target: {goal} is a rate between 0 and 1 (0.8 means 80 %)"), goal=metric.value
        )
    goal = session.get(Goal, (year, metric.value))
    now = utcnow()
    if goal is None:
        goal = Goal(year=year, metric=metric.value, target=target, updated_by=actor, updated_at=now)
    else:
        goal.target, goal.updated_by, goal.updated_at = target, actor, now
    session.add(goal)
    session.commit()
    session.refresh(goal)
    return goal
