"""Moments service: REST API under /api/v1/moments, the web pages, health, metrics, sheet sync."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common import accounts
from services.common.asgi import RequestMetrics
from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.common.errors import database_problem, database_unavailable
from services.common.metrics import metrics_response
from services.common.openapi import problems
from services.common.vocabulary import Network
from services.moments import service, sheets, web
from services.moments.deps import ApiAdmin, ApiReader, ApiWriter, db, writing
from services.moments.grpc_server import start_grpc
from services.moments.metrics import REQUEST_SECONDS, REQUESTS
from services.moments.models import (
    CustomerStatus,
    IsoDate,
    MomentCreate,
    MomentPublic,
    MomentUpdate,
    Outcome,
    SheetSync,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


SearchText = Annotated[
    str | None,
    Query(max_length=200, pattern="^[^\\x00]*$", description="Search people, text, tags"),
]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    database: str
    sheets: str
    sheet_backlog: int
    sheet_oldest_s: int


class MomentPage(BaseModel):
    items: list[MomentPublic]
    total: int
    page: int
    per_page: int


def _filters(
    q: str | None,
    network: Network | None,
    customer_status: CustomerStatus | None,
    outcome: Outcome | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> service.Filters:
    return service.Filters(
        q=q,
        network=network.value if network else None,
        customer_status=customer_status.value if customer_status else None,
        outcome=outcome.value if outcome else None,
        date_from=date_from,
        date_to=date_to,
    )


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, sync_sheets: bool = True
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        run_worker = sync_sheets and settings.sheets_sync_in_service
        syncer = sheets.start_background(engine, settings) if run_worker else None
        grpc_server = start_grpc(
            engine, settings, port=settings.moments_grpc_port, host=settings.grpc_host
        )
        app.state.grpc_port = grpc_server.port
        try:
            yield
        finally:
            grpc_server.server.stop(grace=10).wait()
            if syncer is not None:
                syncer.stop_event.set()

    app = FastAPI(
        title="Rapport moments",
        version="1",
        description="Meaningful relationship moments: log, list, edit; synced to Google Sheets.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.login_limiter = accounts.LoginLimiter(engine)

    app.add_middleware(
        RequestMetrics, seconds=REQUEST_SECONDS, requests=REQUESTS, headers=SECURITY_HEADERS
    )

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> Response:
        if request.url.path.startswith("/api/"):
            return await database_unavailable(request, exc)
        return web.database_down_page(request, database_problem(exc))

    def sync_enabled() -> bool:
        return sheets.enabled(settings)

    def one(request: Request, moment_id: str, *, include_deleted: bool = False) -> Any:
        with db(request) as session:
            moment = service.get(session, moment_id, include_deleted=include_deleted)
            if moment is None:
                raise HTTPException(404, f"No moment with id {moment_id!r}.")
            state = service.sync_states(session, [moment.id], enabled=sync_enabled())[moment.id]
            return service.public(moment, state)

    @app.post(
        "/api/v1/moments",
        status_code=201,
        response_model=MomentPublic,
        tags=["moments"],
        responses=problems(400, 401, 403, s400="The body is not JSON"),
    )
    def create_moment(request: Request, body: MomentCreate, principal: ApiWriter) -> Any:
        with writing(request) as session:
            moment = service.create(session, data=body, actor=principal.name)
        # Just written, with its outbox row: no need to read either back.
        return service.public(moment, SheetSync(state="pending" if sync_enabled() else "off"))

    @app.get(
        "/api/v1/moments", response_model=MomentPage, tags=["moments"], responses=problems(401)
    )
    def list_moments(
        request: Request,
        _principal: ApiReader,
        q: SearchText = None,
        network: Network | None = None,
        customer_status: CustomerStatus | None = None,
        outcome: Outcome | None = None,
        date_from: IsoDate | None = None,
        date_to: IsoDate | None = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Any:
        filters = _filters(q, network, customer_status, outcome, date_from, date_to)
        with db(request) as session:
            moments, total = service.get_all(session, filters=filters, page=page, per_page=per_page)
            states = service.sync_states(session, [m.id for m in moments], enabled=sync_enabled())
        return {
            "items": [service.public(m, states[m.id]) for m in moments],
            "total": total,
            "page": page,
            "per_page": per_page,
        }

    @app.get(
        "/api/v1/moments.csv",
        tags=["moments"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}}}, **problems(401)},
    )
    def export_moments(
        request: Request,
        _principal: ApiReader,
        q: SearchText = None,
        network: Network | None = None,
        customer_status: CustomerStatus | None = None,
        outcome: Outcome | None = None,
        date_from: IsoDate | None = None,
        date_to: IsoDate | None = None,
    ) -> StreamingResponse:
        filters = _filters(q, network, customer_status, outcome, date_from, date_to)
        return StreamingResponse(
            service.export_csv(request.app.state.engine, filters=filters),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="moments.csv"'},
        )

    @app.get(
        "/api/v1/moments/{moment_id}",
        response_model=MomentPublic,
        tags=["moments"],
        responses=problems(401, 404),
    )
    def get_moment(request: Request, moment_id: str, _principal: ApiReader) -> Any:
        return one(request, moment_id)

    @app.patch(
        "/api/v1/moments/{moment_id}",
        response_model=MomentPublic,
        tags=["moments"],
        responses=problems(400, 401, 403, 404, s400="The body is not JSON"),
    )
    def patch_moment(
        request: Request, moment_id: str, body: MomentUpdate, principal: ApiWriter
    ) -> Any:
        with writing(request) as session:
            moment = service.get(session, moment_id)
            if moment is None:
                raise HTTPException(404, f"No moment with id {moment_id!r}.")
            for name in ("occurred_on", "network", "link", "change", "customer_status"):
                if name in body.model_fields_set and getattr(body, name) is None:
                    raise HTTPException(
                        422,
                        [{"loc": ["body", name], "msg": "cannot be null", "type": "value_error"}],
                    )
            if body.people is not None and not body.people:
                raise HTTPException(
                    422,
                    [
                        {
                            "loc": ["body", "people"],
                            "msg": "name at least one person",
                            "type": "value_error",
                        }
                    ],
                )
            service.update(session, moment=moment, data=body, actor=principal.name)
        return one(request, moment_id)

    @app.delete(
        "/api/v1/moments/{moment_id}",
        status_code=204,
        tags=["moments"],
        responses=problems(401, 403, 404),
    )
    def delete_moment(request: Request, moment_id: str, principal: ApiWriter) -> Response:
        with writing(request) as session:
            moment = service.get(session, moment_id)
            if moment is None:
                raise HTTPException(404, f"No moment with id {moment_id!r}.")
            service.delete(session, moment=moment, actor=principal.name)
        return Response(status_code=204)

    @app.post(
        "/api/v1/moments/{moment_id}/restore",
        response_model=MomentPublic,
        tags=["moments"],
        responses=problems(401, 403, 404),
    )
    def restore_moment(request: Request, moment_id: str, principal: ApiAdmin) -> Any:
        with writing(request) as session:
            moment = service.get(session, moment_id, include_deleted=True)
            if moment is None:
                raise HTTPException(404, f"No moment with id {moment_id!r}.")
            service.restore(session, moment=moment, actor=principal.name)
        return one(request, moment_id)

    @app.get("/healthz", tags=["ops"], response_model=Health)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "The database is unreachable"}},
    )
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # any driver error means "not ready"
            database = f"unreachable: {type(exc).__name__}"
        with db_session(engine) as session:
            backlog, oldest = sheets.status(session) if database == "ok" else (0, 0.0)
        body = {
            "ready": database == "ok",
            "database": database,
            "sheets": "on" if sync_enabled() else "off",
            "sheet_backlog": backlog,
            "sheet_oldest_s": round(oldest),
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    app.add_route("/metrics", metrics_response, include_in_schema=False)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    app.include_router(web.router)
    return app


def db_session(engine: Engine) -> Any:
    from sqlmodel import Session

    return Session(engine)
