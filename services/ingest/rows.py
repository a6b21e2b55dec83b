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

from services.domain.tables import CAMPAIGN_LENGTH
from services.domain.vocabulary import (
    CONVERSATION_KIND_NAMES,
    ENGAGEMENT_KIND_NAMES,
    FUNNEL_KIND_NAMES,
)

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
    remembered per batch since many events share a timestamp (keyed by epoch microseconds)."""

    def __init__(self, dialect: str) -> None:
        self._as_text = dialect == "sqlite"
        self.known: dict[int, Any] = {}

    def __call__(self, seconds: int, micros: int = 0) -> Any:
        stamp = self.known.get(seconds * 1_000_000 + micros)
        if stamp is None:
            stamp = self.make(seconds, micros)
        return stamp

    def make(self, seconds: int, micros: int) -> Any:
        instant = _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)
        # SQLAlchemy's text format for SQLite DateTime: "%Y-%m-%d %H:%M:%S.%f".
        stamp = instant.isoformat(sep=" ", timespec="microseconds") if self._as_text else instant
        self.known[seconds * 1_000_000 + micros] = stamp
        return stamp


def batch_rows(batch: ingest_pb2.InteractionBatch, stamp: Stamps) -> list[Incoming]:
    """The database row of every event in one record, in its order (occurred_at as naive UTC;
    None when the event has none, which the consumer's check refuses).

    The consumer's hottest loop, so written for CPython: each protobuf field is read once, the
    helpers are local names, and the common cases skip a call (a stamp already made, a count
    that is set). The profile showed field reads, calls and tuple building as its cost.
    """
    ingested = batch.ingested_at_us
    known = stamp.known
    make = stamp.make
    blake2b = hashlib.blake2b
    dumps = orjson.dumps
    funnel = FUNNEL_KIND_NAMES
    out: list[Incoming] = []
    append = out.append
    for event in batch.events:
        at = event.occurred_at
        seconds = at.seconds
        micros = at.nanos // 1000
        if not (seconds or micros) and not event.HasField("occurred_at"):
            when = None
        else:
            when = known.get(seconds * 1_000_000 + micros) or make(seconds, micros)
        count = event.count
        if not count and not event.HasField("count"):
            count = 1
        kind = event.kind
        attributes = event.attributes
        value = event.value
        digest = blake2b(event.SerializeToString(deterministic=True), digest_size=16).hexdigest()
        append(
            (
                (
                    event.event_id,
                    when,
                    event.utc_offset_minutes,
                    event.network,
                    kind,
                    count,
                    event.account or "default",
                    event.actor or None,
                    event.conversation_id or None,
                    event.post_id or None,
                    event.url or None,
                    dumps(dict(sorted(attributes.items()))).decode() if attributes else None,
                    ingested,
                    digest,
                    value_e4(value) if value else None,
                    event.currency or None,
                    campaign(event) if kind in funnel else None,
                ),
                seconds,
            )
        )
    return out


def value_e4(value: str) -> int:
    """An accepted value (a decimal string of at most 4 fraction digits) in ten-thousandths."""
    return int(decimal.Decimal(value).scaleb(4))


def campaign(event: ingest_pb2.Interaction) -> str | None:
    """A visit's, lead's or conversion's utm_campaign, kept in a column the reports index."""
    if event.kind not in FUNNEL_KIND_NAMES:
        return None
    return event.attributes.get("utm_campaign", "")[:CAMPAIGN_LENGTH] or None


def latest_versions(records: Sequence[list[Incoming]]) -> list[Incoming]:
    """One row per event_id: the newest version in these records' rows (later position breaks
    ties)."""
    # Most batches repeat no event_id: then a dict built in one C-level pass is the answer.
    by_id = {incoming[0][ID]: incoming for rows in records for incoming in rows}
    if len(by_id) == sum(map(len, records)):
        return list(by_id.values())
    newest: dict[str, Incoming] = {}
    for rows in records:
        for incoming in rows:
            row = incoming[0]
            current = newest.get(row[ID])
            if current is None or row[INGESTED] >= current[0][INGESTED]:
                newest[row[ID]] = incoming
    return list(newest.values())


class Rollups:
    """Accumulates signed rollup deltas for one batch, keyed by whole epoch hours and local days."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self.hourly: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        self.daily: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        # Engagement kinds per hour and (network, account), kinds summed: the heatmap's grain.
        self.engagement: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        # Visits, leads, conversions per local day, campaign and currency: count, value, events
        # (sink.write stores them per day and summed per month).
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
        if row[KIND] in ENGAGEMENT_KIND_NAMES:
            delta = self.engagement[(hour, row[NETWORK], row[ACCOUNT])]
            delta[0] += count
            delta[1] += sign
        if row[KIND] in FUNNEL_KIND_NAMES:
            self._add_outcome(day, row, sign)

    def add_new(self, rows: Iterable[Incoming]) -> None:
        """Count every row once (`add` with sign +1), in one loop: the consumer's second
        hottest, so its lookups are local names and a new key is set rather than made by the
        defaultdict's factory (a Python call)."""
        hourly, daily, day_of_hour = self.hourly, self.daily, self._day_of_hour
        engagement, engaging = self.engagement, ENGAGEMENT_KIND_NAMES
        funnel = FUNNEL_KIND_NAMES
        for row, epoch_s in rows:
            hour = epoch_s - epoch_s % HOUR_S
            day = day_of_hour.get(hour)
            if day is None:
                day = self._local_day(epoch_s, hour)
            network, account, kind, count = row[NETWORK], row[ACCOUNT], row[KIND], row[COUNT]
            key = (hour, network, account, kind)
            delta = hourly.get(key)
            if delta is None:
                hourly[key] = [count, 1]
            else:
                delta[0] += count
                delta[1] += 1
            day_key = (day, network, account, kind)
            delta = daily.get(day_key)
            if delta is None:
                daily[day_key] = [count, 1]
            else:
                delta[0] += count
                delta[1] += 1
            if kind in engaging:
                engaged_key = (hour, network, account)
                delta = engagement.get(engaged_key)
                if delta is None:
                    engagement[engaged_key] = [count, 1]
                else:
                    delta[0] += count
                    delta[1] += 1
            if kind in funnel:
                self._add_outcome(day, row, 1)

    def _add_outcome(self, day: dt.date, row: Sequence[Any], sign: int) -> None:
        value = row[VALUE]
        # A currency without a value has no revenue to sum: keyed as none.
        currency = (row[CURRENCY] or "") if value is not None else ""
        key = (day, row[NETWORK], row[ACCOUNT], row[KIND], row[CAMPAIGN] or "")
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
            (self.engagement, other.engagement, both.engagement),
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
    """Everything that needs no database, from decoded records."""
    stamp = Stamps(dialect)
    return prepare([batch_rows(batch, stamp) for batch in batches], stamp, tz)


def prepare(records: Sequence[list[Incoming]], stamp: Stamps, tz: ZoneInfo) -> RowBatch:
    """Everything that needs no database, from each record's rows (`batch_rows`): the consumer
    does it while the previous batch is written, so this Python work overlaps the database's."""
    rows = latest_versions(records)
    rollups = Rollups(tz)
    rollups.add_new(rows)
    conversations = {
        (row[NETWORK], row[CONVERSATION]) for row, _ in rows if row[KIND] in CONVERSATION_KIND_NAMES
    }
    return RowBatch(rows, rollups, conversations, stamp)
