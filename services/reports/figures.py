"""Report math (ARCHITECTURE.md "Report figures"): pure functions, no database, no Streamlit."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

ENGAGEMENT_KINDS = ("like", "comment", "reply", "share", "mention", "save", "click")
ONE_HOUR_S = 3600.0


@dataclass(frozen=True)
class Period:
    """Calendar year `year` in `tz`, from 1 January 00:00 to the end of the as-of day."""

    year: int
    as_of: dt.date
    tz: ZoneInfo

    @classmethod
    def of(cls, year: int, as_of: dt.date | None, tz: ZoneInfo) -> Period:
        if as_of is None:
            today = dt.datetime.now(tz).date()
            as_of = today if today.year == year else dt.date(year, 12, 31)
        if as_of.year != year:
            raise ValueError(f"--as-of {as_of} is not in year {year}")
        return cls(year, as_of, tz)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def start_utc(self) -> dt.datetime:
        """Naive UTC instant of 1 January 00:00 local time."""
        return _utc(dt.datetime.combine(self.first_day, dt.time(), self.tz))

    @property
    def end_utc(self) -> dt.datetime:
        """Naive UTC instant just after the as-of day ends (exclusive bound)."""
        next_day = self.as_of + dt.timedelta(days=1)
        return _utc(dt.datetime.combine(next_day, dt.time(), self.tz))

    @property
    def elapsed_days(self) -> int:
        return self.as_of.timetuple().tm_yday

    @property
    def days_in_year(self) -> int:
        return 366 if calendar.isleap(self.year) else 365


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """numpy's default percentile: linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class ConversationFact:
    """One support conversation as the report needs it (naive UTC instants)."""

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
