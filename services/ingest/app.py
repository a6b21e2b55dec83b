"""`rapport ingest`: the app (REST routes in api.py, gRPC in grpc_server.py) and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common import tracing
from services.common.asgi import BodyLimits, LimitBodies, RequestMetrics, trust_proxies
from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.common.errors import database_unavailable
from services.common.metrics import metrics_response
from services.ingest import api, conversations_api, webhooks
from services.ingest.api import BadRequest
from services.ingest.grpc_server import start_grpc
from services.ingest.metrics import REQUEST_SECONDS, REQUESTS
from services.ingest.publisher import BrokerUnavailable, Publisher

log = logging.getLogger(__name__)


# Routes that take no body of note (health, metrics, the conversations API) take this much.
SMALL_BODY_BYTES = 64 * 1024


def body_limits(settings: Settings) -> BodyLimits:
    """Batches, imports and webhook deliveries up to INGEST_MAX_BODY_BYTES; every other route
    a small body."""
    big = settings.ingest_max_body_bytes
    return BodyLimits(
        default=SMALL_BODY_BYTES,
        routes={"/v1/interactions": big, "/v1/imports/": big, "/v1/webhooks/": big},
        chunk_timeout_s=settings.ingest_body_timeout_s,
    )


def create_app(
    settings: Settings | None = None,
    *,
    publisher: Publisher | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    journal = Path(settings.ingest_journal_dir) if settings.ingest_journal_dir else None
    publisher = publisher or Publisher.of(settings, journal_dir=journal)
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        publisher.start()  # the backlog limit and the journal follow the consumer's commits
        grpc_server = start_grpc(
            publisher, engine, settings, port=settings.ingest_grpc_port, host=settings.grpc_host
        )
        app.state.grpc_port = grpc_server.port
        try:
            yield
        finally:
            # In-flight RPCs get a grace period; then every buffered record is flushed.
            grpc_server.server.stop(grace=10).wait()
            publisher.close()

    app = FastAPI(
        title="Rapport ingest",
        version="1",
        description="Streams social interactions into Kafka. Contract: docs/figures.md.",
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry(),  # type: ignore[arg-type]
    )
    # What the routes use: api.py reads them from request.app.state.
    app.state.publisher = publisher
    app.state.engine = engine
    app.state.settings = settings
    app.state.readiness = api.Readiness()

    webhooks.start_clock(settings)
    app.add_middleware(LimitBodies, limits=body_limits(settings))
    app.add_middleware(RequestMetrics, seconds=REQUEST_SECONDS, requests=REQUESTS)
    trust_proxies(app, settings)
    app.add_exception_handler(OperationalError, database_unavailable)

    @app.exception_handler(BadRequest)
    async def bad_request(_request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(BrokerUnavailable)
    async def broker_down(_request: Request, exc: BrokerUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        return JSONResponse(
            {"detail": exc.client_message},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    # Webhooks first: each delivery is one small request, so its route matches first.
    app.include_router(webhooks.deliveries)
    app.include_router(webhooks.router)
    app.include_router(api.router(settings))
    app.include_router(conversations_api.router)
    app.add_route("/metrics", metrics_response, include_in_schema=False)
    return app
