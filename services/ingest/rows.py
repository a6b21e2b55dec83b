"""Turning Kafka records into database rows, with no database: the consumer does this for the next
batch while the previous one is written.

One row per event_id (the newest version in the batch), instants as the database stores them,
and the rollup deltas and conversations the rows touch as if every row were new; sink.write
corrects that for the event ids it finds stored.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from rapport.ingest.v1 import ingest_pb2

from services.common.schema import CAMPAIGN_LENGTH
from services.common.vocabulary import CONVERSATION_KIND_NAMES, FUNNEL_KIND_NAMES

_EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, like every stored instant
HOUR_S = 3_600

# Rows travel as plain tuples in this column order, straight to the driver: the profile showed
# dict building and SQLAlchemy's per-row parameter processing costing more than the writes.
EVENT_COLUMNS = (
    "event_id", "occurred_at", "utc_offset_minutes", "network", "kind", "count", "account",
    "actor", "conversation_id", "post_id", "url", "attributes", "ingested_at_us", "content_hash",
    "value_e4", "currency", "campaign",
)  # fmt: skip
ID, OCCURRED, NETWORK, KIND, COUNT, ACCOUNT, CONVERSATION, INGESTED, HASH = (
    EVENT_COLUMNS.index(name)
    for name in (
        "event_id", "occurred_at", "network", "kind", "count", "account", "conversation_id",
        "ingested_at_us", "content_hash",
    )
)  # fmt: skip
VALUE, CURRENCY, CAMPAIGN = (EVENT_COLUMNS.index(n) for n in ("value_e4", "currency", "campaign"))


# One event version read from Kafka: its row, and its instant in whole epoch seconds.
Incoming = tuple[tuple[Any, ...], int]


class Stamps:
    """Instants as the database stores them (naive UTC: a datetime, or SQLite's text form),
    remembered per batch since many events share a timestamp."""

    def __init__(self, dialect: str) -> None:
        self._as_text = dialect == "sqlite"
        self._known: dict[tuple[int, int], Any] = {}

    def __call__(self, seconds: int, micros: int = 0) -> Any:
        stamp = self._known.get((seconds, micros))
        if stamp is None:
            instant = _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)
            # SQLAlchemy's text format for SQLite DateTime: "%Y-%m-%d %H:%M:%S.%f".
            stamp = (
                instant.isoformat(sep=" ", timespec="microseconds") if self._as_text else instant
            )
            self._known[(seconds, micros)] = stamp
        return stamp


def event_row(event: ingest_pb2.Interaction, ingested_at_us: int, stamp: Stamps) -> Incoming:
    """The database row for one event (occurred_at as naive UTC)."""
    at = event.occurred_at
    return (
        (
            event.event_id,
            stamp(at.seconds, at.nanos // 1000),
            event.utc_offset_minutes,
            event.network,
            event.kind,
            event.count if event.HasField("count") else 1,
            event.account or "default",
            event.actor or None,
            event.conversation_id or None,
            event.post_id or None,
            event.url or None,
            orjson.dumps(dict(sorted(event.attributes.items()))).decode()
            if event.attributes
            else None,
            ingested_at_us,
            hashlib.blake2b(
                event.SerializeToString(deterministic=True), digest_size=16
            ).hexdigest(),
            value_e4(event.value) if event.value else None,
            event.currency or None,
            campaign(event),
        ),
        at.seconds,
    )


def value_e4(value: str) -> int:
    """An accepted value (a decimal string of at most 4 fraction digits) in ten-thousandths."""
    return int(decimal.Decimal(value).scaleb(4))


def campaign(event: ingest_pb2.Interaction) -> str | None:
    """A visit's, lead's or conversion's utm_campaign, kept in a column the reports index."""
    if event.kind not in FUNNEL_KIND_NAMES:
        return None
    return event.attributes.get("utm_campaign", "")[:CAMPAIGN_LENGTH] or None


def latest_versions(
    batches: Iterable[ingest_pb2.InteractionBatch], stamp: Stamps
) -> list[Incoming]:
    """One row per event_id: the newest version in these batches (later position breaks ties)."""
    newest: dict[str, Incoming] = {}
    for batch in batches:
        ingested = batch.ingested_at_us
        for event in batch.events:
            current = newest.get(event.event_id)
            if current is None or ingested >= current[0][INGESTED]:
                newest[event.event_id] = event_row(event, ingested, stamp)
    return list(newest.values())


class Rollups:
    """Accumulates signed rollup deltas for one batch, keyed by whole epoch hours and local days."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self.hourly: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        self.daily: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        # Visits, leads, conversions per local month, campaign and currency: count, value, events.
        self.outcomes: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
        self._day_of_hour: dict[int, dt.date] = {}

    def add(self, epoch_s: int, row: Sequence[Any], sign: int) -> None:
        """Count `row` (an event row, or the stored version being replaced) with `sign`."""
        hour = epoch_s - epoch_s % HOUR_S
        day = self._day_of_hour.get(hour)
        if day is None:
            day = self._local_day(epoch_s, hour)
        key = (row[NETWORK], row[ACCOUNT], row[KIND])
        count = sign * row[COUNT]
        delta = self.hourly[(hour, *key)]
        delta[0] += count
        delta[1] += sign
        delta = self.daily[(day, *key)]
        delta[0] += count
        delta[1] += sign
        if row[KIND] in FUNNEL_KIND_NAMES:
            self._add_outcome(day, row, sign)

    def _add_outcome(self, day: dt.date, row: Sequence[Any], sign: int) -> None:
        value = row[VALUE]
        # A currency without a value has no revenue to sum: keyed as none.
        currency = (row[CURRENCY] or "") if value is not None else ""
        key = (day.replace(day=1), row[NETWORK], row[ACCOUNT], row[KIND], row[CAMPAIGN] or "")
        delta = self.outcomes[(*key, currency)]
        delta[0] += sign * row[COUNT]
        delta[1] += sign * (value or 0)
        delta[2] += sign

    def plus(self, other: Rollups) -> Rollups:
        """A new Rollups holding both sets of deltas; neither is changed."""
        both = Rollups(self._tz)
        for mine, theirs, out in (
            (self.hourly, other.hourly, both.hourly),
            (self.daily, other.daily, both.daily),
        ):
            for deltas in (mine, theirs):
                for key, (count, events) in deltas.items():
                    total = out[key]
                    total[0] += count
                    total[1] += events
        for deltas in (self.outcomes, other.outcomes):
            for key, sums in deltas.items():
                total = both.outcomes[key]
                for i, amount in enumerate(sums):
                    total[i] += amount
        return both

    def empty(self) -> Rollups:
        return Rollups(self._tz)

    def _local_day(self, epoch_s: int, hour: int) -> dt.date:
        day = dt.datetime.fromtimestamp(epoch_s, self._tz).date()
        # Whole-hour buckets map to one local day except in zones with sub-hour offsets, where
        # the exact instant decides.
        if dt.datetime.fromtimestamp(hour, self._tz).date() == day:
            self._day_of_hour[hour] = day
        return day


def epoch_s(stored: dt.datetime | str) -> int:
    """Whole epoch seconds of a stored instant (a datetime, or SQLite's text as read raw)."""
    instant = dt.datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return (instant - _EPOCH) // dt.timedelta(seconds=1)


@dataclass
class RowBatch:
    """A batch ready to write: its rows, and the rollups and conversations they touch as if every
    row were new (sink.write adds its corrections for the event ids it finds stored); beside
    them, the dead-letter records and the consumer's progress, written in the same transaction."""

    rows: list[Incoming]
    rollups: Rollups
    conversations: set[tuple[str, str]]
    stamp: Stamps
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    progress: list[tuple[Any, ...]] = field(default_factory=list)


def build_rows(
    batches: Iterable[ingest_pb2.InteractionBatch], dialect: str, tz: ZoneInfo
) -> RowBatch:
    """Everything that needs no database: the consumer does it while the previous batch is
    written, so this Python work overlaps the database's."""
    stamp = Stamps(dialect)
    rows = latest_versions(batches, stamp)
    rollups = Rollups(tz)
    conversations: set[tuple[str, str]] = set()
    for row, epoch_s in rows:
        rollups.add(epoch_s, row, +1)
        if row[KIND] in CONVERSATION_KIND_NAMES:
            conversations.add((row[NETWORK], row[CONVERSATION]))
    return RowBatch(rows, rollups, conversations, stamp)
