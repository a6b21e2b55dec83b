"""How far the consumer's writes reach, written in the same transaction as the events.

One row per partition of the interactions topic (table consumer_progress): the next offset to
write, the partition's end when last looked (its high water), and the broker time of the last
record written. The reports read it to say whether their figures are current ("figures may be
up to N minutes old"); it moves only when the data it describes is in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from services.common.clock import utcnow
from services.ingest.dialect import write_rows

COLUMNS = (
    "group_id",
    "kafka_partition",
    "next_offset",
    "high_water",
    "last_record_at",
    "reported_at",
)
HEARTBEAT_S = 10.0  # how often an idle consumer says it is still caught up


def rows(
    group_id: str,
    records: Sequence[Any],
    high_water: Mapping[int, int],
    positions: Mapping[int, int],
) -> list[tuple[Any, ...]]:
    """Progress rows: for a partition with records in this batch, its last record; for every
    other owned partition, the consumer's position (written by the batches before this one,
    which commit first), so a quiet partition of a busy consumer stays current."""
    now = utcnow()
    last: dict[int, Any] = {}
    for record in records:
        if record.partition not in last or last[record.partition].offset < record.offset:
            last[record.partition] = record
    out: list[tuple[Any, ...]] = []
    for partition, record in last.items():
        at = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC).replace(tzinfo=None)
        next_offset = record.offset + 1
        high = max(high_water.get(partition, next_offset), next_offset)
        out.append((group_id, partition, next_offset, high, at, now))
    for partition, position in positions.items():
        if partition not in last:
            high = max(high_water.get(partition, position), position)
            out.append((group_id, partition, position, high, None, now))
    return sorted(out)


def write(conn: Connection, progress: Sequence[tuple[Any, ...]]) -> None:
    """Upsert; an older view (a batch written after a rebalance moved on) never moves it back."""
    if not progress:
        return
    write_rows(
        conn,
        "consumer_progress",
        COLUMNS,
        progress,
        on_conflict="ON CONFLICT (group_id, kafka_partition) DO UPDATE SET "
        "next_offset = excluded.next_offset, high_water = excluded.high_water, "
        "last_record_at = COALESCE(excluded.last_record_at, consumer_progress.last_record_at), "
        "reported_at = excluded.reported_at "
        "WHERE consumer_progress.next_offset <= excluded.next_offset",
        order_by="group_id, kafka_partition",
    )
