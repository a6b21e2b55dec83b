"""Report math (docs/figures.md#report-figures-the-definitions-every-screen-export-and-test-uses):
pure functions, no database, no Streamlit."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from services.domain.period import Period
from services.domain.vocabulary import ENGAGEMENT_KINDS
from services.reports.goal_metrics import COUNTING, LOWER_IS_BETTER, RATE_FLOOR, GoalMetric

ONE_HOUR_S = 3600.0


def percentile(values: Sequence[float], q: float, *, presorted: bool = False) -> float | None:
    """numpy's default percentile: linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = values if presorted else sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class ConversationFact(NamedTuple):
    """One support conversation as the report needs it (naive UTC instants). A named tuple: a
    year holds ~100,000 of them, and a frozen dataclass took longer to build than to query."""

    network: str
    first_inbound_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None


def support_figures(conversations: Sequence[ConversationFact], period: Period) -> dict[str, Any]:
    """The `support` block: only conversations whose first inbound falls in the period, and
    only responses and resolutions that happened before the period ends."""
    start, end = period.start_utc, period.end_utc
    in_period = [c for c in conversations if start <= c.first_inbound_at < end]
    responses: list[float] = []
    resolutions: list[float] = []
    for c in in_period:
        if c.first_response_at is not None and c.first_response_at < end:
            responses.append((c.first_response_at - c.first_inbound_at).total_seconds())
        if c.resolved_at is not None and c.resolved_at < end:
            resolutions.append((c.resolved_at - c.first_inbound_at).total_seconds())
    total = len(in_period)
    within = sum(1 for r in responses if r <= ONE_HOUR_S)
    social = sum(1 for c in in_period if c.network != "email")
    return {
        "conversations": total,
        "answered": len(responses),
        "median_first_response_s": percentile(responses, 0.5),
        "p90_first_response_s": percentile(responses, 0.9),
        "responded_within_1h_rate": within / total if total else None,
        "median_resolution_s": percentile(resolutions, 0.5),
        "social_share": social / total if total else None,
    }


def brand_figures(totals: Mapping[str, int]) -> dict[str, Any]:
    """The `brand` block from sums of `count` per kind over the period."""
    impressions = int(totals.get("impression", 0))
    engagement = int(sum(totals.get(kind, 0) for kind in ENGAGEMENT_KINDS))
    return {
        "impressions": impressions,
        "reach": int(totals.get("reach", 0)),
        "engagement": engagement,
        "engagement_rate": engagement / impressions if impressions else 0.0,
    }


# --- moments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MomentFact:
    occurred_on: dt.date
    network: str
    customer_status: str
    outcome: str | None
    initiated_by: str | None


def moment_figures(moments: Sequence[MomentFact], period: Period) -> dict[str, Any]:
    """The `moments` block: moments with occurred_on in the period."""
    in_period = [m for m in moments if period.first_day <= m.occurred_on <= period.as_of]
    return {
        "count": len(in_period),
        "existing_customer": sum(1 for m in in_period if m.customer_status == "existing_customer"),
    }


def moment_breakdown(moments: Sequence[MomentFact], period: Period) -> dict[str, Any]:
    """Counts per ISO week and month, and by network, status, outcome, reactive/proactive."""
    in_period = [m for m in moments if period.first_day <= m.occurred_on <= period.as_of]

    def count_by(key: Any) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in in_period:
            name = key(m) or "unknown"
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items()))

    total = len(in_period)
    existing = sum(1 for m in in_period if m.customer_status == "existing_customer")
    return {
        "count": total,
        "per_week": count_by(lambda m: iso_week(m.occurred_on)),
        "per_month": count_by(lambda m: m.occurred_on.strftime("%Y-%m")),
        "by_network": count_by(lambda m: m.network),
        "by_customer_status": count_by(lambda m: m.customer_status),
        "by_outcome": count_by(lambda m: m.outcome),
        "by_initiated_by": count_by(
            lambda m: {"customer": "reactive", "brand": "proactive"}.get(m.initiated_by or "")
        ),
        "existing_customer_share": existing / total if total else None,
    }


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_in_period(week: str, period: Period) -> tuple[dt.date, bool]:
    """The first day of an ISO week inside the period (1 January for the week that began in
    December), and whether the period holds fewer than its seven days: the year began inside
    it, or the as-of day ends it early (the week in progress). A chart marks such a week, so a
    part week does not read as a drop."""
    year, number = week.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(number), 1)
    sunday = monday + dt.timedelta(days=6)
    return max(monday, period.first_day), monday < period.first_day or sunday > period.as_of


# --- goals -----------------------------------------------------------------------------------


def goal_progress(
    metric: str, target: float, actual: float | None, period: Period
) -> dict[str, Any]:
    """{"target", "actual", "pace", "projected_year_end"} as docs/figures.md defines them."""
    pace: float | None = None
    projected: float | None = None
    if actual is not None:
        if metric in COUNTING:
            expected = target * period.elapsed_days / period.days_in_year
            pace = actual / expected if expected else None
            projected = actual / period.elapsed_days * period.days_in_year
        elif metric in LOWER_IS_BETTER:
            # Times count as one second at least: a median of 0 (every answer came while the
            # team was closed) meets any target rather than dividing by zero; rates as one in
            # a thousand (no conversation reopened beats any target the same way).
            floor = RATE_FLOOR.get(GoalMetric(metric), 1.0)
            pace = max(target, floor) / max(actual, floor)
        else:
            pace = actual / target if target else None
    return {"target": target, "actual": actual, "pace": pace, "projected_year_end": projected}


def traffic_light(pace: float | None) -> str:
    """green on or ahead of pace, amber within 10 % behind, red further behind."""
    if pace is None:
        return "grey"
    if pace >= 1.0:
        return "green"
    return "amber" if pace >= 0.9 else "red"


# --- weekly trends and the engagement heatmap ----------------------------------------------


def weekly_support(
    conversations: Sequence[ConversationFact], period: Period
) -> list[dict[str, Any]]:
    """The support figures per ISO week of the first inbound (local time)."""
    weeks: dict[str, list[ConversationFact]] = {}
    for c in conversations:
        local = c.first_inbound_at.replace(tzinfo=dt.UTC).astimezone(period.tz).date()
        weeks.setdefault(iso_week(local), []).append(c)
    rows = []
    for week, facts in sorted(weeks.items()):
        figures = support_figures(facts, period)
        rows.append({"week": week, **figures})
    return rows


def kind_sums(daily: Sequence[tuple[dt.date, str, int]]) -> dict[str, int]:
    """The period's total per kind, from its (day, kind, count) rows."""
    totals: dict[str, int] = {}
    for _day, kind, count in daily:
        totals[kind] = totals.get(kind, 0) + count
    return totals


def weekly_of_kind(daily: Sequence[tuple[dt.date, str, int]], kind: str) -> dict[str, int]:
    """One kind's total per ISO week ("2026-W07") of its days."""
    weeks: dict[str, int] = {}
    for day, kind_, count in daily:
        if kind_ == kind:
            weeks[iso_week(day)] = weeks.get(iso_week(day), 0) + count
    return weeks


def goal_pace(target: float, weeks: int) -> list[float]:
    """Where a yearly target's even pace stands at the end of each of the first `weeks` weeks."""
    return [target / 52 * (week + 1) for week in range(weeks)]


def weekly_brand(daily: Sequence[tuple[dt.date, str, int]], period: Period) -> list[dict[str, Any]]:
    """Per ISO week: impressions, reach, engagement, engagement_rate, cumulative impressions."""
    weeks: dict[str, dict[str, int]] = {}
    for day, kind, count in daily:
        if not period.first_day <= day <= period.as_of:
            continue
        totals = weeks.setdefault(iso_week(day), {})
        totals[kind] = totals.get(kind, 0) + count
    rows = []
    cumulative = 0
    for week, totals in sorted(weeks.items()):
        figures = brand_figures(totals)
        cumulative += figures["impressions"]
        rows.append({"week": week, **figures, "cumulative_impressions": cumulative})
    return rows


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def engagement_heatmap(hourly: Sequence[tuple[dt.datetime, int]], tz: ZoneInfo) -> list[list[int]]:
    """7 x 24 sums of engagement by local weekday (Monday first) and hour, from (UTC hour,
    engagement) rows."""
    grid = [[0] * 24 for _ in range(7)]
    for hour, count in hourly:
        local = hour.replace(tzinfo=dt.UTC).astimezone(tz)
        grid[local.weekday()][local.hour] += count
    return grid
