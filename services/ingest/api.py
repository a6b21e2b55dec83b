"""Ingest HTTP API: POST /v1/interactions and /v1/imports/{source}, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common.asgi import RequestMetrics
from services.common.auth import WriterDep
from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.common.errors import database_unavailable
from services.common.kafka import broker_reachable
from services.common.metrics import metrics_response
from services.common.openapi import problems
from services.ingest.dead_letters import Unparsable
from services.ingest.grpc_server import start_grpc
from services.ingest.importers.base import Context
from services.ingest.importers.run import UnknownSource, run_import
from services.ingest.importers.sources import SOURCES
from services.ingest.metrics import REQUEST_SECONDS, REQUESTS
from services.ingest.publisher import BrokerUnavailable, Publisher
from services.ingest.schemas import (
    CSV_BODY,
    Accepted,
    Health,
    ImportResult,
    Readiness,
    interactions_body,
)
from services.ingest.service import Outcome, count_accepted, prepare

log = logging.getLogger(__name__)

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class BadRequest(Exception):
    """A request the client must fix; answered with `status` and a plain message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int, timeout_s: float = 30.0) -> bytes:
    """The request body, refusing anything above `limit` bytes without reading it all, and a
    body that trickles in slower than one chunk per `timeout_s` (slow-loris clients)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"Body is {declared} bytes; the limit is {limit} bytes.")
    chunks = []
    size = 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout_s)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise BadRequest(408, f"The body did not arrive within {timeout_s:g} s.") from None
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"Body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


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


def create_app(
    settings: Settings | None = None,
    *,
    publisher: Publisher | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    publisher = publisher or Publisher(settings)
    engine = engine or make_engine(settings.database_url)
    readiness: dict[str, Any] = {"checked": 0.0, "kafka": False}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        grpc_server = start_grpc(
            publisher, engine, settings, port=settings.ingest_grpc_port, host=settings.grpc_host
        )
        _app.state.grpc_port = grpc_server.port
        try:
            yield
        finally:
            # In-flight RPCs get a grace period; then every buffered record is flushed.
            grpc_server.server.stop(grace=10).wait()
            publisher.close()

    app = FastAPI(
        title="Rapport ingest",
        version="1",
        description="Streams social interactions into Kafka. Contract: ARCHITECTURE.md.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings

    app.add_middleware(RequestMetrics, seconds=REQUEST_SECONDS, requests=REQUESTS)

    app.add_exception_handler(OperationalError, database_unavailable)

    @app.exception_handler(BadRequest)
    async def bad_request(_request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(BrokerUnavailable)
    async def broker_down(_request: Request, exc: BrokerUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        return JSONResponse(
            {"detail": "Kafka is unavailable; nothing of this request was accepted. Retry later."},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    async def publish(items: list[Any], transport: str, source: str) -> Outcome:
        if len(items) > settings.ingest_max_events_per_request:
            raise BadRequest(
                413,
                f"{len(items)} events in one request; the limit is "
                f"{settings.ingest_max_events_per_request}. Split the batch.",
            )
        prepared = prepare(publisher, items, transport=transport, source=source)
        await publisher.wait_async(prepared.futures)
        count_accepted(prepared.outcome, transport)
        return prepared.outcome

    @app.post(
        "/v1/interactions",
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
    async def post_interactions(request: Request, _role: WriterDep) -> JSONResponse:
        body = await read_body(
            request, settings.ingest_max_body_bytes, settings.ingest_body_timeout_s
        )
        items = parse_events(body, request.headers.get("content-type", ""))
        outcome = await publish(items, "rest", "rest")
        return JSONResponse(outcome.as_json(), status_code=202)

    @app.post(
        "/v1/imports/{source}",
        summary="Import a platform CSV export",
        description="Sources: " + ", ".join(sorted(SOURCES)) + ". Layouts: EXPORT_FORMATS.md.",
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
    async def post_import(
        source: str, request: Request, _role: WriterDep, account: str | None = None
    ) -> JSONResponse:
        if source not in SOURCES:
            raise BadRequest(404, str(UnknownSource(source)))
        body = await read_body(
            request, settings.ingest_max_body_bytes, settings.ingest_body_timeout_s
        )
        report = await run_in_threadpool(
            run_import,
            publisher,
            source=source,
            opener=lambda: io.BytesIO(body),
            context=Context(account=account),
        )
        if report.file_error and not report.rows:
            raise BadRequest(422, report.file_error)
        return JSONResponse(report.as_json(), status_code=200)

    @app.get("/healthz", summary="Alive", response_model=Health)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Database and Kafka reachable",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: the failing check"}},
    )
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any driver error means "not ready"; the message says which
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if time.monotonic() - readiness["checked"] > 2:
            readiness["kafka"] = broker_reachable(settings)
            readiness["checked"] = time.monotonic()
        checks["kafka"] = "ok" if readiness["kafka"] else "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    app.add_route("/metrics", metrics_response, include_in_schema=False)
    return app
