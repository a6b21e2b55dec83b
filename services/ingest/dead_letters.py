"""One dead-letter record for ingest and the consumer: what was sent, as it was sent, and why.

A record on `rapport.interactions.dlq.v1` is a JSON object:
- `source` (rest, grpc, an import source, or consumer), `reason` (a short label, as in the
  metrics), `error` (for people), `rejected_at` (UTC, ISO 8601);
- `item`: the item as parsed, when it was JSON (an event that broke a rule);
- `raw_b64`: the bytes exactly as they arrived, when they could not be parsed (an NDJSON line
  that is not JSON, a Kafka record that is not an InteractionBatch);
- `index` (its position in the request) or `topic`, `partition`, `offset` (the record).
A letter that would not fit a Kafka record keeps its reason and the head of what was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from services.common.kafka import MAX_RECORD_BYTES
from services.ingest.dialect import write_rows

MAX_LETTER_BYTES = MAX_RECORD_BYTES // 2
HEAD_BYTES = 10_000


@dataclass(frozen=True)
class Unparsable:
    """An input line that is not JSON: kept as bytes so its dead letter holds it as sent."""

    raw: bytes
    error: str


def letter(
    *,
    source: str,
    reason: str,
    error: str,
    item: Any = None,
    raw: bytes | None = None,
    **where: Any,
) -> dict[str, Any]:
    """The dead letter; `where` says where it came from (index, or topic/partition/offset)."""
    out: dict[str, Any] = {
        "source": source,
        "reason": reason,
        "error": error,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
        **where,
    }
    if raw is not None:
        out["raw_b64"] = base64.b64encode(raw).decode()
    else:
        out["item"] = item
    return out


def encode(dead: dict[str, Any]) -> bytes:
    value = orjson.dumps(dead, default=str)
    if len(value) <= MAX_LETTER_BYTES:
        return value
    # Keep the reason and the head of a huge item rather than fail the whole request.
    trimmed = {k: v for k, v in dead.items() if k not in ("item", "raw_b64")}
    if "raw_b64" in dead:
        head = base64.b64decode(dead["raw_b64"])[:HEAD_BYTES]
        trimmed["raw_b64"] = base64.b64encode(head).decode()
    else:
        trimmed["item_head"] = orjson.dumps(dead["item"], default=str)[:HEAD_BYTES].decode(
            errors="replace"
        )
    trimmed["truncated"] = True
    return orjson.dumps(trimmed, default=str)


# -- the stored copy: the consumer keeps one row per letter (table dead_letter), keyed by the
# SHA-256 of the record's bytes and written in the transaction of the batch it came in, so each
# is stored once: read again after a failed commit, or published again by the journal after the
# broker was replaced (the same bytes at new offsets), it adds nothing; and a new embedded
# broker's offsets, which start at 0 again, never hide a new letter behind an old one's.

ERROR_CHARS = 500


def stored_row(record: Any) -> tuple[Any, ...]:
    """(letter_id, kafka_partition, kafka_offset, source, reason, error, rejected_at) of a record
    of the dead-letter topic; a record that is not a letter is kept too, as `unreadable`."""
    try:
        dead = orjson.loads(record.value or b"")
        if not isinstance(dead, dict):
            raise TypeError("not an object")
        at = dt.datetime.fromisoformat(str(dead["rejected_at"]))
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC).replace(tzinfo=None)
        source, reason = str(dead.get("source", "")), str(dead.get("reason", ""))
        error = str(dead.get("error", ""))
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        at = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC).replace(tzinfo=None)
        source, reason, error = "unknown", "unreadable", "a dead-letter record that is not a letter"
    letter_id = hashlib.sha256(record.value or b"").hexdigest()
    where = (letter_id, record.partition, record.offset)
    return (*where, source[:64], reason[:64], error[:ERROR_CHARS], at)


def store(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert stored_row()s; a letter already stored adds nothing."""
    if rows:
        write_rows(
            conn,
            "dead_letter",
            (
                "letter_id", "kafka_partition", "kafka_offset", "source", "reason", "error",
                "rejected_at",
            ),
            rows,
            on_conflict="ON CONFLICT (letter_id) DO NOTHING",
            order_by="letter_id",
        )  # fmt: skip


def latest(engine: Engine, limit: int = 20) -> list[tuple[Any, ...]]:
    """The newest stored dead letters, for `rapport dead-letters`."""
    query = text(
        "SELECT rejected_at, source, reason, kafka_partition, kafka_offset, error "
        "FROM dead_letter ORDER BY rejected_at DESC, kafka_offset DESC LIMIT :limit"
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query, {"limit": limit})]
