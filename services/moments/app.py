"""`rapport moments`: the app (REST API, web pages, gRPC, health, metrics, sheet sync) and its
lifespan; the routes are in api.py and web/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common import tracing
from services.common.asgi import BodyLimits, LimitBodies, RequestMetrics, trust_proxies
from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.common.errors import database_unavailable
from services.common.i18n import N_
from services.common.metrics import metrics_response
from services.domain import accounts
from services.moments import (
    api,
    people_api,
    service,
    sheets,
    survey_api,
    survey_outbox,
    web,
)
from services.moments.deps import browser_principal
from services.moments.grpc_server import start_grpc
from services.moments.metrics import REQUEST_SECONDS, REQUESTS
from services.moments.web import survey_page
from services.moments.web.render import (
    LoginRequired,
    PasswordChangeRequired,
    Refused,
    database_down_page,
    message_page,
    refusal_page,
)
from services.moments.web.speech import speaker_for


def security_headers(settings: Settings) -> dict[str, str]:
    """Forms may post here only, and redirect after posting only here or to the reports app
    (the login sends people back there: browsers check form-action on that redirect too)."""
    reports = urlsplit(settings.reports_url)
    return {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            f"form-action 'self' {reports.scheme}://{reports.netloc}"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    database: str
    sheets: str
    sheet_backlog: int
    sheet_oldest_s: int


# A moment is small: its longest fields (change and notes, 5,000 characters each) take at most
# 60 KB each percent-encoded in a form; the sign-in and password forms are smaller still.
BODY_LIMITS = BodyLimits(
    default=256 * 1024,
    routes={
        "/login": 16 * 1024,
        "/logout": 16 * 1024,
        "/password": 16 * 1024,
        "/account/language": 16 * 1024,
    },
)


# A page nobody has, said as a page; other refusals before any handler (a form of too many
# fields: 400) keep their JSON reason, which is for whoever sent a form no page offers.
NOWHERE = (N_("Not found"), N_("There is no page at this address."))


# The list's filters as its form labels them.
FILTER_LABELS = {
    "q": N_("Search"),
    "network": N_("Network"),
    "customer_status": N_("Customer status"),
    "outcome": N_("Outcome"),
    "date_from": N_("From"),
    "date_to": N_("To"),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    sync_sheets: bool = True,
    relay_surveys: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        run_worker = sync_sheets and settings.sheets_sync_in_service
        syncer = sheets.start_background(engine, settings) if run_worker else None
        # Every moments process relays the survey answers it and the others accepted, unless
        # a `rapport surveys relay` does (`rapport up` runs one: the page's event loop then
        # shares the GIL with no relay or Kafka client); two relays at once may send an answer
        # twice, which the consumer writes once.
        in_service = relay_surveys and settings.surveys_relay_in_service
        relay = survey_outbox.Relay(engine, settings) if in_service else None
        relay_thread = relay.start() if relay is not None else None
        app.state.survey_relay = relay
        grpc_server = start_grpc(
            engine, settings, port=settings.moments_grpc_port, host=settings.grpc_host
        )
        app.state.grpc_port = grpc_server.port
        try:
            yield
        finally:
            grpc_server.server.stop(grace=10).wait()
            if getattr(app.state, "survey_keeper", None) is not None:
                app.state.survey_keeper.close()
            if relay is not None and relay_thread is not None:
                relay.stop()
                relay_thread.join(15)
            if syncer is not None:
                syncer.stop_event.set()

    app = FastAPI(
        title="Rapport moments",
        version="1",
        description="Meaningful relationship moments: log, list, edit; synced to Google Sheets.",
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry(),  # type: ignore[arg-type]
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.login_limiter = accounts.LoginLimiter(engine)
    app.add_middleware(LimitBodies, limits=BODY_LIMITS)
    app.add_middleware(
        RequestMetrics,
        seconds=REQUEST_SECONDS,
        requests=REQUESTS,
        headers=security_headers(settings),
    )
    trust_proxies(app, settings)
    _handle_errors(app)

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
            with Session(engine) as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                backlog, oldest = sheets.status(session)
            database = "ok"
        except Exception as exc:  # any driver error means "not ready"
            database, backlog, oldest = f"unreachable: {type(exc).__name__}", 0, 0.0
        body = {
            "ready": database == "ok",
            "database": database,
            "sheets": "on" if sheets.enabled(settings) else "off",
            "sheet_backlog": backlog,
            "sheet_oldest_s": round(oldest),
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    app.add_route("/metrics", metrics_response, include_in_schema=False)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    # The customer's public survey first: the busiest route, matched before the others.
    app.include_router(survey_page.router)
    app.include_router(api.router)
    app.include_router(people_api.router)
    app.include_router(survey_api.router)
    app.include_router(web.router)
    return app


def _handle_errors(app: FastAPI) -> None:
    """One answer per kind of failure: JSON on /api, a page everywhere else."""

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> Response:
        if _is_api(request):
            return await database_unavailable(request, exc)
        return database_down_page(request, exc)

    @app.exception_handler(service.MomentNotFound)
    async def not_found(request: Request, exc: service.MomentNotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        principal = await run_in_threadpool(browser_principal, request)
        missing = Refused(
            404, N_("Not found"), N_("No moment with id {id}."), principal, id=exc.moment_id
        )
        return await refusal_page(request, missing)

    @app.exception_handler(RequestValidationError)
    async def bad_query(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        principal = await run_in_threadpool(browser_principal, request)
        say = speaker_for(request, principal)
        # ("query", "date_from", <the union member that refused it>): the parameter's name
        names = sorted({str(err["loc"][:2][-1]) for err in exc.errors() if err.get("loc")})
        fields = ", ".join(say._(FILTER_LABELS[n]) if n in FILTER_LABELS else n for n in names)
        return await run_in_threadpool(
            message_page,
            request,
            principal,
            status=400,
            title=N_("Check the filters"),
            message=N_("These filters cannot be read: {fields}. Correct them and try again."),
            fields=fields,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
        """No such page (404, or 405 for a path that serves another method): said in the
        page's language; the API, and every other refusal, answer their JSON."""
        if _is_api(request) or exc.status_code not in (404, 405):
            return await http_exception_handler(request, exc)
        principal = await run_in_threadpool(browser_principal, request)
        response = await refusal_page(request, Refused(exc.status_code, *NOWHERE, principal))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        """A fault of ours (500): a page in the reader's language, no trace (it goes to the log)."""
        if _is_api(request):
            return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
        return await run_in_threadpool(
            message_page,
            request,
            None,
            status=500,
            title=N_("Something went wrong"),
            message=N_(
                "Rapport could not answer this request. Try again in a minute; if it keeps "
                "happening, tell your Rapport administrator."
            ),
        )

    app.add_exception_handler(Refused, refusal_page)
    app.add_exception_handler(LoginRequired, refusal_page)
    app.add_exception_handler(PasswordChangeRequired, refusal_page)
