"""What `rapport demo` sets beside its events (used by services/demo.py): a business-hours
schedule, a value model and yearly goals, each only where none is set, so the pages show
service levels, money and pace out of the box."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.common.config import Settings

DEMO_HOURS = "mon-fri 08:00-20:00; sat 10:00-14:00"
DEMO_GOALS = {
    "impressions": 55_000_000,
    "reach": 35_000_000,
    "engagement": 1_500_000,
    "moments": 300,
    "responded_within_1h_rate": 0.6,
    "median_first_response_s": 1800,
    "social_share": 0.65,
    "first_response_sla_met_rate": 0.8,
    "csat": 0.8,
    "reopen_rate": 0.1,
    "share_of_voice": 0.5,
    "net_growth": 40_000,
    "conversions": 6_000,
    "revenue": 600_000,
    "conversion_rate": 0.015,
}
DEMO_VALUE = {
    "currency": "USD",
    "cost_per_email_contact": 6.0,
    "cost_per_social_contact": 2.5,
    "cpm": 8.5,
    "cpc": 1.2,
    "value_per_moment": 250.0,
    "program_cost": 120_000.0,
}


def hours(engine: Any, settings: Settings, year: int) -> None:
    """A realistic schedule in RAPPORT_TIMEZONE, unless one is set already."""
    from services.common.db import write_session
    from services.domain.service_levels import load_schedules, make_schedule
    from services.domain.stored_levels import save_schedule

    with write_session(engine) as session:
        if load_schedules(session).default is not None:
            return
        schedule = make_schedule(
            timezone=settings.rapport_timezone,
            hours=DEMO_HOURS,
            holidays=[f"{year}-01-01", f"{year}-12-25", f"{year}-12-26"],
            first_response_target_s=3600,
        )
        save_schedule(session, account=None, schedule=schedule, actor="demo")


def value_model(engine: Any, year: int) -> None:
    """A plausible value model, unless the year has one (pages then show money out of the box)."""
    from services.reports import value

    if value.load(engine, year) is None:
        value.set_model(engine, year=year, actor="demo", **DEMO_VALUE)


def goals(engine: Any, year: int) -> None:
    from services.reports import queries
    from services.reports.goal_metrics import GoalMetric
    from services.reports.goals import set_goal

    if queries.goals(engine, year):
        return
    with Session(engine) as session:
        for metric, target in DEMO_GOALS.items():
            set_goal(session, year=year, metric=GoalMetric(metric), target=target, actor="demo")
