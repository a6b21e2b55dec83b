"""The completeness line under every executive figure: what the figures are built on.

Three facts: the events counted in the period (the rollups' event counts, with the filters), the
events rejected or dead-lettered in the period (table dead_letter, which the consumer fills from
the dead-letter topic), and whether the consumer is behind (table consumer_progress): when a
partition holds records not yet written, the oldest missing event was accepted after the last
record written there, so the figures may be up to (now - that record's time) old.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.common.clock import utcnow
from services.common.i18n import Speaker, speaker
from services.domain.period import Period
from services.domain.tables import ConsumerProgress, DeadLetter, RollupDaily

EN = speaker("en")

DAILY = RollupDaily.__table__  # type: ignore[attr-defined]
DEAD = DeadLetter.__table__  # type: ignore[attr-defined]
PROGRESS = ConsumerProgress.__table__  # type: ignore[attr-defined]
SILENT_AFTER_S = 120.0  # a consumer heartbeats every 10 s while idle


@dataclass(frozen=True)
class Partition:
    next_offset: int
    high_water: int
    last_record_at: dt.datetime | None
    reported_at: dt.datetime


@dataclass(frozen=True)
class Freshness:
    """`current`, `behind` (up to `up_to_s` old, `records` not yet written), `silent` (no
    report since `reported_at`) or `unknown` (no consumer has reported)."""

    state: str
    records: int = 0
    up_to_s: float | None = None
    reported_at: dt.datetime | None = None


def freshness(partitions: Sequence[Partition], now: dt.datetime) -> Freshness:
    if not partitions:
        return Freshness("unknown")
    silent = [p for p in partitions if (now - p.reported_at).total_seconds() > SILENT_AFTER_S]
    behind = [p for p in partitions if p.high_water > p.next_offset]
    records = sum(p.high_water - p.next_offset for p in behind)
    if silent:
        last = min(p.reported_at for p in silent)
        return Freshness("silent", records, (now - last).total_seconds(), last)
    reported = max(p.reported_at for p in partitions)
    if not behind:
        return Freshness("current", 0, 0.0, reported)
    oldest = min(p.last_record_at or p.reported_at for p in behind)
    return Freshness("behind", records, max(0.0, (now - oldest).total_seconds()), reported)


@dataclass(frozen=True)
class Completeness:
    events: int
    dead_letters: int
    freshness: Freshness
    filtered: bool  # events follow the network/account filter; dead letters are not per network

    def as_dict(self) -> dict[str, Any]:
        f = self.freshness
        return {
            "events": self.events,
            "rejected_or_dead_lettered": self.dead_letters,
            "rejected_scope": "all networks and accounts" if self.filtered else "as filtered",
            "consumer": {
                "state": f.state,
                "records_behind": f.records,
                "figures_up_to_s": None if f.up_to_s is None else round(f.up_to_s, 1),
                "reported_at": None if f.reported_at is None else f.reported_at.isoformat() + "Z",
            },
        }


def line(found: dict[str, Any], sp: Speaker = EN) -> str:
    """One sentence for people, under a figure, from `Completeness.as_dict()` (the summary's
    `completeness`), in the reader's language (English by default: the CLI's)."""
    # Unreadable events name no network for sure: in a filtered view they are every network's.
    refused = sp.number(found["rejected_or_dead_lettered"])
    return " · ".join(
        [
            sp.n_("Based on {n} event", "Based on {n} events", found["events"]),
            sp._("{count} could not be read or were refused this period", count=refused)
            if found["rejected_scope"] == "as filtered"
            else sp._(
                "{count} could not be read or were refused this period (all networks together)",
                count=refused,
            ),
            freshness_text(found["consumer"], sp),
        ]
    )


def freshness_text(consumer: dict[str, Any], sp: Speaker = EN) -> str:
    state, up_to_s = consumer["state"], consumer["figures_up_to_s"]
    if state == "unknown":
        return sp._("the consumer has not reported yet")
    if state == "silent":
        return sp._(
            "the consumer has not reported for {time}: figures may be older than that",
            time=_minutes(up_to_s, sp),
        )
    if state == "behind" and up_to_s >= 60:
        return sp._(
            "figures may be up to {time} old (the consumer is catching up)",
            time=_minutes(up_to_s, sp),
        )
    return sp._("up to date")


def _minutes(seconds: float, sp: Speaker) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 120:
        return sp._("{minutes} min", minutes=sp.number(minutes))
    hours = minutes / 60
    if hours < 48:
        return sp._("{hours} h", hours=sp.number(round(hours)))
    return sp.n_("{n} day", "{n} days", round(hours / 24))


def read(
    engine: Engine,
    period: Period,
    *,
    group_id: str,
    network: str | None = None,
    account: str | None = None,
    now: dt.datetime | None = None,
) -> Completeness:
    events = select(func.coalesce(func.sum(DAILY.c.events), 0)).where(
        DAILY.c.day >= period.first_day, DAILY.c.day <= period.as_of
    )
    if network:
        events = events.where(DAILY.c.network == network)
    if account:
        events = events.where(DAILY.c.account == account)
    dead = select(func.count()).where(
        DEAD.c.rejected_at >= period.start_utc, DEAD.c.rejected_at < period.end_utc
    )
    progress = select(
        PROGRESS.c.next_offset,
        PROGRESS.c.high_water,
        PROGRESS.c.last_record_at,
        PROGRESS.c.reported_at,
    ).where(PROGRESS.c.group_id == group_id)
    with engine.connect() as conn:
        counted = int(conn.execute(events).scalar_one())
        rejected = int(conn.execute(dead).scalar_one())
        partitions = [Partition(*row) for row in conn.execute(progress)]
    return Completeness(
        counted, rejected, freshness(partitions, now or utcnow()), filtered=bool(network or account)
    )


def dead_letters_by_source(engine: Engine) -> dict[str, int]:
    """Every stored dead letter, counted by where it came from (rest, consumer, webhook:meta)."""
    query = select(DEAD.c.source, func.count()).group_by(DEAD.c.source)
    with engine.connect() as conn:
        return {str(source): int(n) for source, n in conn.execute(query)}
