"""The one clock: every stored instant is naive UTC (SQLite keeps no zone)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo: the form every table stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
