"""Shapes of the ingest API's answers, for its OpenAPI document (the handlers build plain JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.ingest.events import EVENT


class RejectedEvent(BaseModel):
    index: int
    error: str


class Accepted(BaseModel):
    accepted: int
    rejected: list[RejectedEvent]


class RowError(BaseModel):
    row: int
    column: str | None
    error: str


class ImportResult(BaseModel):
    source: str
    rows: int
    accepted: int
    rows_rejected: int
    rejected: list[RowError]
    file_error: str | None
    rows_skipped: int


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    """Ready means ingest can accept: database, Kafka and backlog "ok". The journal and the
    consumer are reported too (a consumer that is down does not stop ingest accepting); `down`
    names every part that is not "ok"."""

    ready: bool
    database: str
    kafka: str
    backlog: str
    journal: str
    consumer: str
    down: list[str]


def interactions_body(max_events: int) -> dict[str, Any]:
    """The request body of POST /v1/interactions: a JSON array of events, or NDJSON text."""
    event = _inlined(EVENT.json_schema())
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": event, "maxItems": max_events}
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its local `$defs` references replaced by the definitions themselves."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}
