"""Idempotent batch writes: events, rollups and conversation facts in one transaction.

Replacement rule: for one event_id the version accepted last by ingest (`ingested_at_us`) wins, so
Kafka partition order does not matter; a version with the same content hash is a no-op. Every
replacement subtracts the old version from the rollups before adding the new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import (
    ARRAY,
    Connection,
    String,
    Table,
    any_,
    bindparam,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.ingest.events import MESSAGE_KINDS
from services.ingest.models import InteractionEvent, SupportConversation

EVENTS: Table = InteractionEvent.__table__  # type: ignore[attr-defined]
CONVERSATIONS: Table = SupportConversation.__table__  # type: ignore[attr-defined]
MESSAGE_KIND_NAMES = frozenset(k.value for k in MESSAGE_KINDS)
CHUNK = 500  # bound parameters per IN (...) query, well under SQLite's limit
PG_CHUNK = 10_000  # keys per array parameter on PostgreSQL


@dataclass
class WriteStats:
    inserted: int = 0
    replaced: int = 0
    duplicate: int = 0
    stale: int = 0
    newest_ingested_us: int = 0


_EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, like every stored instant


def event_row(event: ingest_pb2.Interaction, ingested_at_us: int) -> dict[str, Any]:
    """The database row for one event (occurred_at as naive UTC)."""
    at = event.occurred_at
    return {
        "event_id": event.event_id,
        # What Timestamp.ToDatetime() computes, without its overhead (the profile's top line).
        "occurred_at": _EPOCH + dt.timedelta(seconds=at.seconds, microseconds=at.nanos // 1000),
        "utc_offset_minutes": event.utc_offset_minutes,
        "network": event.network,
        "kind": event.kind,
        "count": event.count if event.HasField("count") else 1,
        "account": event.account or "default",
        "actor": event.actor or None,
        "conversation_id": event.conversation_id or None,
        "post_id": event.post_id or None,
        "url": event.url or None,
        "attributes": orjson.dumps(dict(sorted(event.attributes.items()))).decode()
        if event.attributes
        else None,
        "ingested_at_us": ingested_at_us,
        "content_hash": hashlib.blake2b(
            event.SerializeToString(deterministic=True), digest_size=16
        ).hexdigest(),
    }


def latest_versions(batches: Iterable[ingest_pb2.InteractionBatch]) -> list[dict[str, Any]]:
    """One row per event_id: the newest version in these batches (later position breaks ties)."""
    newest: dict[str, dict[str, Any]] = {}
    for batch in batches:
        for event in batch.events:
            current = newest.get(event.event_id)
            if current is None or batch.ingested_at_us >= current["ingested_at_us"]:
                newest[event.event_id] = event_row(event, batch.ingested_at_us)
    return list(newest.values())


class Rollups:
    """Accumulates signed rollup deltas for one batch."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self.hourly: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        self.daily: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        self._day_cache: dict[dt.datetime, dt.date] = {}

    def add(self, row: dict[str, Any], sign: int) -> None:
        occurred: dt.datetime = row["occurred_at"]
        hour = occurred.replace(minute=0, second=0, microsecond=0)
        day = self._day_cache.get(hour)
        if day is None:
            # Whole-hour buckets map to one local day except in zones with sub-hour offsets,
            # where the exact instant decides.
            day = occurred.replace(tzinfo=dt.UTC).astimezone(self._tz).date()
            if hour.replace(tzinfo=dt.UTC).astimezone(self._tz).date() == day:
                self._day_cache[hour] = day
        key = (row["network"], row["account"], row["kind"])
        for bucket, store in ((hour, self.hourly), (day, self.daily)):
            delta = store[(bucket, *key)]
            delta[0] += sign * row["count"]
            delta[1] += sign


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


# The two hot statements go straight to the driver's executemany with plain tuples: the
# profile showed SQLAlchemy's per-row parameter processing costing more than the writes.
EVENT_COLUMNS = (
    "event_id", "occurred_at", "utc_offset_minutes", "network", "kind", "count", "account",
    "actor", "conversation_id", "post_id", "url", "attributes", "ingested_at_us", "content_hash",
)  # fmt: skip


_EVENT_VALUES = operator.itemgetter(*EVENT_COLUMNS)


def _marks(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    return ", ".join([mark] * n)


def _stamp(conn: Connection, value: dt.datetime | dt.date) -> Any:
    """SQLite stores datetimes as text in SQLAlchemy's format; PostgreSQL takes the object."""
    if conn.dialect.name != "sqlite":
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")  # = "%Y-%m-%d %H:%M:%S.%f"
    return value.isoformat()


def _insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    sql = (
        f"INSERT INTO interaction_event ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({_marks(conn, len(EVENT_COLUMNS))})"
    )
    values = [_EVENT_VALUES(row) for row in rows]
    if conn.dialect.name == "sqlite":  # occurred_at is the second column
        values = [(v[0], v[1].isoformat(sep=" ", timespec="microseconds"), *v[2:]) for v in values]
    conn.exec_driver_sql(sql, values)


def _upsert_rollups(
    conn: Connection, table: str, bucket: str, deltas: dict[tuple[Any, ...], list[int]]
) -> None:
    rows = [
        (_stamp(conn, key[0]), key[1], key[2], key[3], c, n)
        for key, (c, n) in sorted(deltas.items())  # sorted: a stable lock order across consumers
        if c or n
    ]
    if not rows:
        return
    sql = (
        f"INSERT INTO {table} ({bucket}, network, account, kind, count, events) "
        f"VALUES ({_marks(conn, 6)}) "
        f"ON CONFLICT ({bucket}, network, account, kind) DO UPDATE SET "
        f"count = {table}.count + excluded.count, events = {table}.events + excluded.events"
    )
    conn.exec_driver_sql(sql, rows)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(conn: Connection, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    columns = [
        EVENTS.c[name]
        for name in (
            "event_id", "occurred_at", "network", "account", "kind", "count",
            "conversation_id", "ingested_at_us", "content_hash",
        )
    ]  # fmt: skip
    found: dict[str, dict[str, Any]] = {}
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(sorted(event_ids), PG_CHUNK if postgres else CHUNK):
        if postgres:
            # One array parameter, not an IN list: psycopg prepares repeated statements, and the
            # generic plan for a 500-item IN list is a sequential scan (16 s per batch, measured).
            ids = bindparam("ids", value=list(chunk), type_=ARRAY(String))
            query = select(*columns).where(EVENTS.c.event_id == any_(ids)).with_for_update()
        else:
            query = select(*columns).where(EVENTS.c.event_id.in_(chunk))
        for row in conn.execute(query).mappings():
            found[row["event_id"]] = dict(row)
    return found


PG_KEYS_JOIN = (
    "JOIN unnest(CAST(:networks AS text[]), CAST(:conversations AS text[])) "
    "AS k(network, conversation_id) "
    "ON {t}.network = k.network AND {t}.conversation_id = k.conversation_id"
)


def _pg_keys(chunk: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"networks": [n for n, _ in chunk], "conversations": [c for _, c in chunk]}


def refresh_conversations(conn: Connection, keys: set[tuple[str, str]]) -> None:
    """Recompute the facts of these conversations from their message events."""
    if not keys:
        return
    ordered = sorted(keys)
    ins = _insert(conn, CONVERSATIONS).on_conflict_do_nothing(
        index_elements=["network", "conversation_id"]
    )
    conn.execute(
        ins,
        [
            {
                "network": n,
                "conversation_id": c,
                "account": "default",
                "messages_received": 0,
                "messages_sent": 0,
            }
            for n, c in ordered
        ],
    )
    messages: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
    if conn.dialect.name == "postgresql":
        # Lock the rows so two consumers touching one conversation recompute one after the other,
        # each seeing the other's committed events. Keys travel as two arrays joined with
        # unnest (see _existing for why not an IN list).
        for chunk in _chunks(ordered, PG_CHUNK):
            conn.execute(
                text(
                    "SELECT c.network FROM support_conversation c "
                    + PG_KEYS_JOIN.format(t="c")
                    + " ORDER BY c.network, c.conversation_id FOR UPDATE OF c"
                ),
                _pg_keys(chunk),
            )
            rows = conn.execute(
                text(
                    "SELECT e.network, e.conversation_id, e.kind, e.occurred_at, e.account, e.url "
                    "FROM interaction_event e " + PG_KEYS_JOIN.format(t="e") + " WHERE e.kind IN "
                    "('message_received', 'message_sent', 'conversation_resolved')"
                ),
                _pg_keys(chunk),
            )
            for row in rows:
                messages[(row[0], row[1])].append(row)
    else:
        for chunk in _chunks(ordered):
            query = select(
                EVENTS.c.network, EVENTS.c.conversation_id, EVENTS.c.kind, EVENTS.c.occurred_at,
                EVENTS.c.account, EVENTS.c.url,
            ).where(
                tuple_(EVENTS.c.network, EVENTS.c.conversation_id).in_(chunk),
                EVENTS.c.kind.in_(MESSAGE_KIND_NAMES),
            )  # fmt: skip
            for row in conn.execute(query):
                messages[(row[0], row[1])].append(row)
    updates = [conversation_facts(key, messages.get(key, [])) for key in ordered]
    # The SET clause comes from the parameter keys that name columns (SQLAlchemy executemany).
    conn.execute(
        update(CONVERSATIONS).where(
            CONVERSATIONS.c.network == bindparam("k_network"),
            CONVERSATIONS.c.conversation_id == bindparam("k_conversation_id"),
        ),
        updates,
    )


def conversation_facts(key: tuple[str, str], rows: Sequence[Any]) -> dict[str, Any]:
    """First inbound, first response at or after it, first resolution at or after it."""
    received = sorted(r[3] for r in rows if r[2] == "message_received")
    sent = sorted(r[3] for r in rows if r[2] == "message_sent")
    resolved = sorted(r[3] for r in rows if r[2] == "conversation_resolved")
    first_inbound = received[0] if received else None
    inbound_rows = [r for r in rows if r[2] == "message_received"]
    first_row = (
        min(inbound_rows, key=lambda r: r[3]) if inbound_rows else (rows[0] if rows else None)
    )

    def first_after(times: list[dt.datetime]) -> dt.datetime | None:
        if first_inbound is None:
            return None
        return next((t for t in times if t >= first_inbound), None)

    first_response = first_after(sent)
    resolved_at = first_after(resolved)
    return {
        "k_network": key[0],
        "k_conversation_id": key[1],
        "account": first_row[4] if first_row is not None else "default",
        "url": next((r[5] for r in sorted(rows, key=lambda r: r[3]) if r[5]), None),
        "first_inbound_at": first_inbound,
        "first_response_at": first_response,
        "resolved_at": resolved_at,
        "first_response_s": _seconds(first_inbound, first_response),
        "resolution_s": _seconds(first_inbound, resolved_at),
        "messages_received": len(received),
        "messages_sent": len(sent),
    }


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def write_batch(
    engine: Engine, batches: Sequence[ingest_pb2.InteractionBatch], tz: ZoneInfo
) -> WriteStats:
    """Apply the batches in one transaction; safe to call again with the same batches."""
    stats = WriteStats()
    incoming = latest_versions(batches)
    if not incoming:
        return stats
    rollups = Rollups(tz)
    inserts: list[dict[str, Any]] = []
    replacements: list[dict[str, Any]] = []
    conversations: set[tuple[str, str]] = set()
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        existing = _existing(conn, [row["event_id"] for row in incoming])
        for row in incoming:
            old = existing.get(row["event_id"])
            stats.newest_ingested_us = max(stats.newest_ingested_us, row["ingested_at_us"])
            if old is not None:
                if old["content_hash"] == row["content_hash"]:
                    stats.duplicate += 1
                    continue
                if old["ingested_at_us"] > row["ingested_at_us"]:
                    stats.stale += 1
                    continue
                rollups.add(old, -1)
                if old["kind"] in MESSAGE_KIND_NAMES:
                    conversations.add((old["network"], old["conversation_id"]))
                replacements.append({**row, "k_event_id": row["event_id"]})
                stats.replaced += 1
            else:
                inserts.append(row)
                stats.inserted += 1
            rollups.add(row, +1)
            if row["kind"] in MESSAGE_KIND_NAMES:
                conversations.add((row["network"], row["conversation_id"]))
        if inserts:
            _insert_events(conn, inserts)
        if replacements:
            conn.execute(
                update(EVENTS).where(EVENTS.c.event_id == bindparam("k_event_id")), replacements
            )
        _upsert_rollups(conn, "rollup_hourly", "hour", rollups.hourly)
        _upsert_rollups(conn, "rollup_daily", "day", rollups.daily)
        refresh_conversations(conn, conversations)
    return stats
