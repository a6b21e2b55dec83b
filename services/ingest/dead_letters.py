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
from dataclasses import dataclass
from typing import Any

import orjson

from services.common.kafka import MAX_RECORD_BYTES

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
