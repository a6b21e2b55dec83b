"""Ingest REST routes: POST /v1/interactions and /v1/imports/{source}, health and readiness.

Each route is a plain function taking the app's publisher, settings and engine as typed
dependencies (services/common/deps.py, services/ingest/deps.py; set by app.create_app);
`router(settings)` registers them with the limits in their OpenAPI.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.common.clock import utcnow
from services.common.config import Settings
from services.common.deps import EngineDep, SettingsDep, settings_of
from services.common.kafka import broker_reachable
from services.common.openapi import problems
from services.domain.auth import WriterDep
from services.ingest.dead_letters import Unparsable
from services.ingest.deps import PublisherDep, publisher_of, readiness_of
from services.ingest.importers.base import Context
from services.ingest.importers.run import UnknownSource, run_import
from services.ingest.importers.sources import SOURCES
from services.ingest.models import (
    CSV_BODY,
    Accepted,
    Health,
    ImportResult,
    interactions_body,
)
from services.ingest.models import (
    Readiness as ReadinessBody,
)
from services.ingest.service import Outcome, count_accepted, submit

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class BadRequest(Exception):
    """A request the client must fix; answered with `status` and a plain message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Readiness:
    """Kafka reachability, asked at most every 2 s however often /readyz is polled."""

    checked: float = 0.0
    kafka: bool = False


def parse_events(body: bytes, content_type: str) -> list[Any]:
    """A JSON array (or one object) or NDJSON lines; a bad NDJSON line becomes its own rejection."""
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        items: list[Any] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                items.append(Unparsable(line, f"line {number}: malformed JSON ({exc})"))
        return items
    if not body.strip():
        raise BadRequest(400, "Empty body: send a JSON array of events or NDJSON.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(400, f"Malformed JSON: {exc}.") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise BadRequest(400, "Body must be a JSON array of event objects (or NDJSON).")
    return data


async def publish(request: Request, items: list[Any], transport: str, source: str) -> Outcome:
    """Validate, hand to Kafka and wait for its acknowledgement; then count what went on."""
    settings, publisher = settings_of(request), publisher_of(request)
    if len(items) > settings.ingest_max_events_per_request:
        raise BadRequest(
            413,
            f"{len(items)} events in one request; the limit is "
            f"{settings.ingest_max_events_per_request}. Split the batch.",
        )
    submitted = submit(publisher, items, transport=transport, source=source)
    await publisher.wait_async(submitted.futures)
    count_accepted(submitted.outcome, transport)
    return submitted.outcome


async def post_interactions(request: Request, _role: WriterDep) -> JSONResponse:
    body = await request.body()  # within INGEST_MAX_BODY_BYTES: app.body_limits
    items = parse_events(body, request.headers.get("content-type", ""))
    outcome = await publish(request, items, "rest", "rest")
    return JSONResponse(outcome.as_json(), status_code=202)


async def post_import(
    source: str,
    request: Request,
    _role: WriterDep,
    settings: SettingsDep,
    publisher: PublisherDep,
    account: str | None = None,
    currency: str | None = None,
) -> JSONResponse:
    if source not in SOURCES:
        raise BadRequest(404, str(UnknownSource(source)))
    body = await request.body()
    report = await run_in_threadpool(
        run_import,
        publisher,
        source=source,
        opener=lambda: io.BytesIO(body),
        context=Context(account=account, timezone=settings.timezone, currency=currency),
    )
    if report.file_error and not report.rows:
        raise BadRequest(422, report.file_error)
    return JSONResponse(report.as_json(), status_code=200)


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(
    settings: SettingsDep,
    engine: EngineDep,
    publisher: PublisherDep,
    readiness: Annotated[Readiness, Depends(readiness_of)],
) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["consumer"] = consumer_state(conn, settings.kafka_consumer_group)
    except Exception as exc:  # any driver error means "not ready"; the message says which
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["consumer"] = "unknown (database unreachable)"
    if time.monotonic() - readiness.checked > 2:
        readiness.kafka = broker_reachable(settings.kafka)
        readiness.checked = time.monotonic()
    checks["kafka"] = "ok" if readiness.kafka else "unreachable"
    waiting, limit = publisher.backlog.events, settings.ingest_max_backlog_events
    checks["backlog"] = (
        f"full: {waiting} events wait for the database (limit {limit})"
        if waiting >= limit
        else "ok"
    )
    checks["journal"] = journal_state(publisher)
    ready = all(checks[k] == "ok" for k in ("database", "kafka", "backlog"))
    down = [k for k, v in checks.items() if v not in ("ok", "off")]
    return JSONResponse({"ready": ready, **checks, "down": down}, status_code=200 if ready else 503)


def consumer_state(conn: Any, group: str) -> str:
    """From the consumer's own progress reports (it reports at least every 10 s while up)."""
    row = conn.execute(
        text("SELECT MAX(reported_at) FROM consumer_progress WHERE group_id = :g"), {"g": group}
    ).one()
    if row[0] is None:
        return "no report yet"
    reported = row[0] if isinstance(row[0], dt.datetime) else dt.datetime.fromisoformat(row[0])
    silent = (utcnow() - reported).total_seconds()
    return "ok" if silent < 30 else f"silent for {silent:.0f} s"


def journal_state(publisher: Any) -> str:
    watch = publisher.watch
    if publisher.journal is None:
        return "off"
    if watch is not None and watch.replaying:
        return f"replaying {watch.replaying} records from a replaced broker"
    if watch is not None and watch.last_error:
        return f"cannot follow the consumer's commits: {watch.last_error}"
    return "ok"


def router(settings: Settings) -> APIRouter:
    """The routes, their OpenAPI declaring this deployment's limits."""
    routes = APIRouter()
    routes.add_api_route(
        "/v1/interactions",
        post_interactions,
        methods=["POST"],
        status_code=202,
        summary="Publish interactions (JSON array or NDJSON)",
        response_model=Accepted,
        responses=problems(
            400,
            401,
            403,
            408,
            413,
            503,
            s400="Malformed JSON",
            s503="Kafka unavailable; retry after Retry-After seconds",
        ),
        openapi_extra=interactions_body(settings.ingest_max_events_per_request),
    )
    routes.add_api_route(
        "/v1/imports/{source}",
        post_import,
        methods=["POST"],
        summary="Import a platform export (CSV; a GA4 runReport answer as JSON)",
        description="Sources: " + ", ".join(sorted(SOURCES)) + ". Layouts: docs/export-formats.md.",
        response_model=ImportResult,
        responses=problems(
            401,
            403,
            404,
            408,
            413,
            422,
            503,
            s404="Unknown source",
            s422="Not a readable export of that source",
            s503="Kafka unavailable; retry after Retry-After seconds",
        ),
        openapi_extra=CSV_BODY,
    )
    routes.add_api_route(
        "/healthz", healthz, methods=["GET"], summary="Alive", response_model=Health
    )
    routes.add_api_route(
        "/readyz",
        readyz,
        methods=["GET"],
        summary="Can accept: database, Kafka and backlog; the journal and consumer too",
        response_model=ReadinessBody,
        responses={503: {"model": ReadinessBody, "description": "Not ready: the failing check"}},
    )
    return routes
