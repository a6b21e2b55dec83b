"""Idempotent batch writes: events, rollups and conversation facts in one transaction.

Replacement rule: for one event_id the version accepted last by ingest (`ingested_at_us`) wins, so
Kafka partition order does not matter; a version with the same content hash is a no-op. Every
replacement subtracts the old version from the rollups before adding the new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.schema import InteractionEvent, SupportConversation
from services.common.vocabulary import MESSAGE_KIND_NAMES

EVENTS: Table = InteractionEvent.__table__  # type: ignore[attr-defined]
CONVERSATIONS: Table = SupportConversation.__table__  # type: ignore[attr-defined]
PG_CHUNK = 10_000  # keys per array parameter on PostgreSQL


@dataclass
class WriteStats:
    inserted: int = 0
    replaced: int = 0
    duplicate: int = 0
    stale: int = 0
    newest_ingested_us: int = 0


_EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, like every stored instant
HOUR_S = 3_600

# Rows travel as plain tuples in this column order, straight to the driver: the profile showed
# dict building and SQLAlchemy's per-row parameter processing costing more than the writes.
EVENT_COLUMNS = (
    "event_id", "occurred_at", "utc_offset_minutes", "network", "kind", "count", "account",
    "actor", "conversation_id", "post_id", "url", "attributes", "ingested_at_us", "content_hash",
)  # fmt: skip
ID, OCCURRED, NETWORK, KIND, COUNT, ACCOUNT, CONVERSATION, INGESTED, HASH = (
    EVENT_COLUMNS.index(name)
    for name in (
        "event_id", "occurred_at", "network", "kind", "count", "account", "conversation_id",
        "ingested_at_us", "content_hash",
    )
)  # fmt: skip


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
        ),
        at.seconds,
    )


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

    def _local_day(self, epoch_s: int, hour: int) -> dt.date:
        day = dt.datetime.fromtimestamp(epoch_s, self._tz).date()
        # Whole-hour buckets map to one local day except in zones with sub-hour offsets, where
        # the exact instant decides.
        if dt.datetime.fromtimestamp(hour, self._tz).date() == day:
            self._day_of_hour[hour] = day
        return day


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _mark(conn: Connection) -> str:
    """The driver's parameter placeholder."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _write_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    on_conflict: str = "",
    order_by: str = "",
) -> None:
    """INSERT these rows into `table`, in one statement per batch.

    SQLite takes them through executemany. On PostgreSQL psycopg's executemany spent more Python
    time per row than the database did (12 us a row, measured), so rows arrive by COPY (3 us);
    an upsert copies into a temporary table first and inserts from it in `order_by` order (a
    stable lock order for concurrent consumers).
    """
    names = ", ".join(columns)
    if conn.dialect.name != "postgresql":
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", rows)
        return
    target = table
    if on_conflict:
        target = f"incoming_{table}"
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} (LIKE {table}) ON COMMIT DELETE ROWS"
        )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    if on_conflict:
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} "
            f"ORDER BY {order_by} {on_conflict}"
        )


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    _write_rows(conn, "interaction_event", EVENT_COLUMNS, rows)


def _replace_events(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    mark = _mark(conn)
    assignments = ", ".join(f"{name} = {mark}" for name in EVENT_COLUMNS[1:])
    sql = f"UPDATE interaction_event SET {assignments} WHERE event_id = {mark}"
    conn.exec_driver_sql(sql, [(*row[1:], row[ID]) for row in rows])


def _upsert_rollups(
    conn: Connection,
    table: str,
    bucket: str,
    deltas: dict[tuple[Any, ...], list[int]],
    stamp: Stamps | None = None,
) -> None:
    """Add the deltas; `stamp` turns epoch-hour keys into stored instants (hourly table)."""
    rows = [
        (stamp(key[0]) if stamp else _day(conn, key[0]), key[1], key[2], key[3], c, n)
        for key, (c, n) in deltas.items()
        if c or n
    ]
    if not rows:
        return
    key = f"{bucket}, network, account, kind"
    _write_rows(
        conn,
        table,
        (bucket, "network", "account", "kind", "count", "events"),
        rows,
        on_conflict=f"ON CONFLICT ({key}) DO UPDATE SET count = {table}.count + excluded.count, "
        f"events = {table}.events + excluded.events",
        order_by=key,
    )


def _day(conn: Connection, day: dt.date) -> Any:
    return day.isoformat() if conn.dialect.name == "sqlite" else day


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(conn: Connection, event_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The stored rows (EVENT_COLUMNS order) of those of these ids already in the database."""
    select_rows = f"SELECT {', '.join(EVENT_COLUMNS)} FROM interaction_event "
    found: dict[str, tuple[Any, ...]] = {}
    if conn.dialect.name == "postgresql":
        for chunk in _chunks(sorted(event_ids), PG_CHUNK):
            # One array parameter, not an IN list: psycopg prepares repeated statements, and the
            # generic plan for a 500-item IN list is a sequential scan (16 s per batch, measured).
            rows = conn.exec_driver_sql(
                select_rows + "WHERE event_id = ANY(%s) FOR UPDATE", (list(chunk),)
            )
            found.update((row[ID], tuple(row)) for row in rows)
    else:
        # All ids in one JSON array parameter: one primary-key search each, one statement.
        rows = conn.exec_driver_sql(
            select_rows + "WHERE event_id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(event_ids)).decode(),),
        )
        found.update((row[ID], tuple(row)) for row in rows)
    return found


# Conversation keys travel as parameters joined to the table, not as an IN list of pairs: on
# PostgreSQL two arrays (see _existing), on SQLite a JSON array of pairs (SQLite scans the whole
# table for a row-value IN list, even with an index on both columns).
PG_KEYS_JOIN = (
    "JOIN unnest(CAST(:networks AS text[]), CAST(:conversations AS text[])) "
    "AS k(network, conversation_id) "
    "ON {t}.network = k.network AND {t}.conversation_id = k.conversation_id"
)
SQLITE_KEYS_JOIN = (
    "JOIN json_each(:keys) AS k ON {t}.network = json_extract(k.value, '$[0]') "
    "AND {t}.conversation_id = json_extract(k.value, '$[1]')"
)
MESSAGES_OF_KEYS = (
    "SELECT e.network, e.conversation_id, e.kind, e.occurred_at, e.account, e.url "
    "FROM interaction_event e {join} WHERE e.kind IN ("
    + ", ".join(f"'{kind}'" for kind in sorted(MESSAGE_KIND_NAMES))
    + ")"
)


def _pg_keys(chunk: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"networks": [n for n, _ in chunk], "conversations": [c for _, c in chunk]}


def _messages(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Message rows with occurred_at as a datetime on both databases."""
    query = text(sql).columns(
        EVENTS.c.network, EVENTS.c.conversation_id, EVENTS.c.kind, EVENTS.c.occurred_at,
        EVENTS.c.account, EVENTS.c.url,
    )  # fmt: skip
    return conn.execute(query, params)


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
        # each seeing the other's committed events.
        for chunk in _chunks(ordered, PG_CHUNK):
            conn.execute(
                text(
                    "SELECT c.network FROM support_conversation c "
                    + PG_KEYS_JOIN.format(t="c")
                    + " ORDER BY c.network, c.conversation_id FOR UPDATE OF c"
                ),
                _pg_keys(chunk),
            )
            sql = MESSAGES_OF_KEYS.format(join=PG_KEYS_JOIN.format(t="e"))
            for row in _messages(conn, sql, _pg_keys(chunk)):
                messages[(row[0], row[1])].append(row)
    else:
        sql = MESSAGES_OF_KEYS.format(join=SQLITE_KEYS_JOIN.format(t="e"))
        for row in _messages(conn, sql, {"keys": orjson.dumps(ordered).decode()}):
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


def _epoch_s(stored: dt.datetime | str) -> int:
    """Whole epoch seconds of a stored instant (a datetime, or SQLite's text as read raw)."""
    instant = dt.datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return (instant - _EPOCH) // dt.timedelta(seconds=1)


@dataclass
class Prepared:
    """A batch ready to write: its rows, and the rollups and conversations they touch as if every
    row were new (the write corrects that for the event ids it finds stored)."""

    rows: list[Incoming]
    rollups: Rollups
    conversations: set[tuple[str, str]]
    stamp: Stamps


def prepare(batches: Iterable[ingest_pb2.InteractionBatch], dialect: str, tz: ZoneInfo) -> Prepared:
    """Everything that needs no database: the consumer does it while the previous batch is
    written, so this Python work overlaps the database's."""
    stamp = Stamps(dialect)
    rows = latest_versions(batches, stamp)
    rollups = Rollups(tz)
    conversations: set[tuple[str, str]] = set()
    for row, epoch_s in rows:
        rollups.add(epoch_s, row, +1)
        if row[KIND] in MESSAGE_KIND_NAMES:
            conversations.add((row[NETWORK], row[CONVERSATION]))
    return Prepared(rows, rollups, conversations, stamp)


def write_batch(
    engine: Engine, batches: Sequence[ingest_pb2.InteractionBatch], tz: ZoneInfo
) -> WriteStats:
    """Apply the batches in one transaction; safe to call again with the same batches."""
    return write_prepared(engine, prepare(batches, engine.dialect.name, tz))


def write_prepared(engine: Engine, batch: Prepared) -> WriteStats:
    """Apply a prepared batch in one transaction. It corrects `batch` as it goes, so a retry
    prepares the batch again (the consumer re-reads it); writing its events twice is a no-op."""
    stats = WriteStats()
    if not batch.rows:
        return stats
    rollups = batch.rollups
    inserts: list[tuple[Any, ...]] = []
    replacements: list[tuple[Any, ...]] = []
    stats.newest_ingested_us = max(row[INGESTED] for row, _ in batch.rows)
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        existing = _existing(conn, [row[ID] for row, _ in batch.rows])
        for row, epoch_s in batch.rows:
            old = existing.get(row[ID])
            if old is None:
                inserts.append(row)
            elif old[HASH] == row[HASH]:
                rollups.add(epoch_s, row, -1)  # not written after all
                stats.duplicate += 1
            elif old[INGESTED] > row[INGESTED]:
                rollups.add(epoch_s, row, -1)
                stats.stale += 1
            else:
                rollups.add(_epoch_s(old[OCCURRED]), old, -1)
                if old[KIND] in MESSAGE_KIND_NAMES:
                    batch.conversations.add((old[NETWORK], old[CONVERSATION]))
                replacements.append(row)
        stats.inserted, stats.replaced = len(inserts), len(replacements)
        if inserts:
            _insert_events(conn, inserts)
        if replacements:
            _replace_events(conn, replacements)
        _upsert_rollups(conn, "rollup_hourly", "hour", rollups.hourly, batch.stamp)
        _upsert_rollups(conn, "rollup_daily", "day", rollups.daily)
        refresh_conversations(conn, batch.conversations)
    return stats
