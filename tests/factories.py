"""Builders for test data: events as clients send them, and protobuf batches."""

from __future__ import annotations

import itertools
import time
from typing import Any

from rapport.ingest.v1 import ingest_pb2

from services.ingest.events import Rejection, to_proto, validate

_ids = itertools.count()


def event(**overrides: Any) -> dict[str, Any]:
    """A valid event dict; override any field, or set one to None to drop it."""
    data: dict[str, Any] = {
        "event_id": f"ev-{next(_ids)}",
        "occurred_at": "2026-03-02T10:15:00Z",
        "network": "twitter",
        "kind": "like",
        "count": 1,
        "account": "@brand",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def message(kind: str, conversation_id: str, at: str, **overrides: Any) -> dict[str, Any]:
    return event(kind=kind, conversation_id=conversation_id, occurred_at=at, **overrides)


def batch(
    *events: dict[str, Any], ingested_at_us: int | None = None
) -> ingest_pb2.InteractionBatch:
    protos = []
    for data in events:
        result = validate(data)
        assert not isinstance(result, Rejection), result
        protos.append(to_proto(result))
    return ingest_pb2.InteractionBatch(
        events=protos, ingested_at_us=ingested_at_us or time.time_ns() // 1000, source="test"
    )
