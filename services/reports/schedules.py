"""Setting and showing support schedules (business hours), for `rapport hours` and the Settings
page: one default and optional per-account schedules, checked before anything is saved."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import write_session
from services.domain.service_levels import (
    DEFAULT_TARGET_S,
    Schedule,
    Schedules,
    load_schedules,
    make_schedule,
)
from services.domain.stored_levels import save_schedule


def set_hours(
    engine: Engine,
    *,
    account: str | None,
    timezone: str,
    hours: str,
    holidays: str = "",
    first_response_target_s: float = DEFAULT_TARGET_S,
    actor: str,
) -> Schedule:
    """Check and store one schedule; ScheduleError (naming the part) and nothing saved."""
    schedule = make_schedule(
        timezone=timezone,
        hours=hours,
        holidays=[d for d in holidays.replace(";", ",").split(",") if d.strip()],
        first_response_target_s=first_response_target_s,
    )
    with write_session(engine) as session:
        save_schedule(session, account=account, schedule=schedule, actor=actor)
    return schedule


def stored(engine: Engine) -> Schedules:
    with Session(engine) as session:
        return load_schedules(session)


def describe(schedule: Schedule | None) -> str:
    if schedule is None:
        return "always open (no schedule: business time is calendar time)"
    holidays = ", ".join(sorted(d.isoformat() for d in schedule.holidays)) or "none"
    return (
        f"{schedule.hours_text or 'closed every day'} ({schedule.timezone}); "
        f"holidays: {holidays}; first-response target: {schedule.first_response_target_s:,} s"
    )


def show(engine: Engine) -> str:
    schedules = stored(engine)
    lines = [f"default: {describe(schedules.default)}"]
    lines += [f"{account}: {describe(s)}" for account, s in sorted(schedules.by_account.items())]
    return "\n".join(lines)
