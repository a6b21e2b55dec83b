"""The report period of the contract: calendar year Y in RAPPORT_TIMEZONE, from 1 January 00:00
to the end of the "as of" day
(docs/figures.md#report-figures-the-definitions-every-screen-export-and-test-uses)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.common.clock import today_in


@dataclass(frozen=True)
class Period:
    """Calendar year `year` in `tz`, from 1 January 00:00 to the end of the as-of day."""

    year: int
    as_of: dt.date
    tz: ZoneInfo

    @classmethod
    def of(cls, year: int, as_of: dt.date | None, tz: ZoneInfo) -> Period:
        if as_of is None:
            today = today_in(tz)
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
