"""The one clock: every stored instant is naive UTC (SQLite keeps no zone)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo: the form every table stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today_in(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The date it is (or was at the aware instant `now`) in the team's zone, not the host's."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(tz).date()
