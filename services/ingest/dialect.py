"""The SQL that differs between SQLite and PostgreSQL, for the consumer's batch writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

PG_CHUNK = 10_000  # keys per array parameter on PostgreSQL


def insert_into(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def placeholder(conn: Connection) -> str:
    """The driver's parameter placeholder."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def write_rows(
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


def day_value(conn: Connection, day: dt.date) -> Any:
    return day.isoformat() if conn.dialect.name == "sqlite" else day


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def pg_keys(chunk: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"networks": [n for n, _ in chunk], "conversations": [c for _, c in chunk]}
