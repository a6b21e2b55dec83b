"""The `rapport` command: run services, stream demo data, import exports, print figures."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from services.common.config import get_settings


def cmd_up(args: argparse.Namespace) -> int:
    from services.up import up

    return up(demo=args.demo)


def cmd_broker(_args: argparse.Namespace) -> int:

    from services.common.processes import broker_command

    settings = get_settings()
    command = broker_command(settings.embedded_broker_port)
    os.execv(command[0], command)  # noqa: S606 - replace this process with the broker


def cmd_migrate(_args: argparse.Namespace) -> int:
    from services.domain.migrate import migrate

    migrate()
    print("Database schema is up to date.")
    return 0


def _serve_http(app: Any, host: str, port: int) -> int:
    """An HTTP service as both run: uvicorn, its loggers through ours (LOG_FORMAT), 20 s to
    finish requests in hand on SIGTERM, X-Forwarded-For only from RAPPORT_TRUSTED_PROXIES."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=get_settings().log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=20,
        proxy_headers=False,  # the apps' own trust_proxies reads RAPPORT_TRUSTED_PROXIES
    )
    return 0


def cmd_ingest(_args: argparse.Namespace) -> int:
    from services.ingest.app import create_app

    settings = get_settings()
    app = create_app(settings)
    # What start-up built (modules, the app, its routes and models) lives as long as the
    # process: out of the cyclic collector's sight, its full collections stay short.
    gc.freeze()
    return _serve_http(app, settings.ingest_http_host, settings.ingest_http_port)


def cmd_consumer(_args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.common.kafka import ensure_topics
    from services.common.metrics import serve_metrics
    from services.ingest.consumer import Consumer

    settings = get_settings()
    serve_metrics(settings.consumer_metrics_port, host=settings.metrics_host)
    ensure_topics(settings.kafka)
    consumer = Consumer(settings, get_engine())

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        consumer.stop_event.set()  # finish and commit the batch in hand, then leave the group

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    consumer.run()
    return 0


def cmd_moments(_args: argparse.Namespace) -> int:
    from services.moments.app import create_app

    settings = get_settings()
    return _serve_http(create_app(settings), settings.moments_http_host, settings.moments_http_port)


def cmd_reports(_args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    started = time.monotonic()

    from streamlit.web import cli as streamlit_cli

    from services.reports import logs as reports_logs
    from services.reports.metrics import serve_metrics
    from services.reports.server import STREAMLIT_FLAGS

    reports_logs.through_ours()  # LOG_FORMAT for Streamlit's own loggers too
    settings = get_settings()
    # From process start, not from the first page view: Prometheus must see the target up
    # after every restart, before anyone opens a page.
    serve_metrics(settings)
    _preload_reports()
    from services.reports.warm import WARM_UP_S, warm

    # Before the server listens (`rapport up` says ready once it does), within WARM_UP_S of
    # this process's start: on a loaded machine the imports above take part of it.
    warm(WARM_UP_S - (time.monotonic() - started))
    app = Path(__file__).parent / "reports" / "app.py"
    streamlit_cli.main(
        [
            "run", str(app),
            "--server.port", str(settings.reports_port),
            "--server.address", settings.reports_host,
            *STREAMLIT_FLAGS,
            *reports_logs.welcome_flags(settings.log_format == "json"),
        ],
        prog_name="streamlit",
    )  # fmt: skip
    return 0


def _preload_reports() -> None:
    """Import what the pages use before the server listens: otherwise the first page after a
    restart imports it (pandas, plotly, the queries: about 2.5 s here) while someone waits."""
    import importlib

    for name in (
        "pandas",
        "plotly.express",
        "plotly.graph_objects",
        "services.reports.ui",
        "services.reports.queries",
        "services.reports.summary",
        "services.reports.value",
        "services.reports.completeness",
        "services.reports.formatting",
    ):
        importlib.import_module(name)


def cmd_demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    settings = get_settings()
    run_demo(settings, url=args.url, year=args.year)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The services' own commands are theirs (each module's add_parsers); these run processes."""
    from services import people
    from services.domain import account_commands, backup_commands, competitors
    from services.ingest import commands as ingest_commands
    from services.ingest import retention
    from services.moments import commands as moments_commands
    from services.moments import surveys
    from services.reports import commands as reports_commands

    parser = argparse.ArgumentParser(
        prog="rapport", description="Rapport: prove what social-media engagement is worth."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="migrate, start the broker and every service; Ctrl-C stops all")
    p.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stream a demo year when the database is empty (default: ask)",
    )
    p.set_defaults(func=cmd_up)
    sub.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu)").set_defaults(
        func=cmd_broker
    )
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("ingest", help="run the ingest HTTP (8001) and gRPC (50051) API").set_defaults(
        func=cmd_ingest
    )
    sub.add_parser("consumer", help="run the Kafka -> database consumer").set_defaults(
        func=cmd_consumer
    )

    sub.add_parser("moments", help="run the moments web form and API (8002)").set_defaults(
        func=cmd_moments
    )

    for commands in (
        account_commands,
        moments_commands,
        surveys,
        reports_commands,
        backup_commands,
        retention,
        people,
        ingest_commands,
        competitors,
    ):
        commands.add_parsers(sub)

    sub.add_parser("reports", help="run the Streamlit reports app (8501)").set_defaults(
        func=cmd_reports
    )

    p = sub.add_parser("demo", help="stream a realistic demo year through the ingest API")
    p.add_argument(
        "--url", default=None, help="ingest base URL (default http://127.0.0.1:$INGEST_HTTP_PORT)"
    )
    p.add_argument(
        "--year", type=int, default=None, help="year to generate (default: this year to date)"
    )
    p.set_defaults(func=cmd_demo)

    return parser


# The processes that trace their work when OTEL_* asks (services.common.tracing).
TRACED = frozenset({"ingest", "consumer", "moments", "sheets", "import", "connect"})


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from services.common import logs
    from services.common.config import settings_problem

    try:
        logs.configure(get_settings())  # LOG_FORMAT=text|json, LOG_LEVEL
    except ValidationError as exc:  # a sentence naming the variable, not a traceback
        print(f"rapport: the environment is not valid: {settings_problem(exc)}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if args.command in TRACED:
        from services.common import tracing

        tracing.configure(args.command)  # only when the OTEL_* variables ask for it
    from sqlalchemy.exc import DBAPIError

    try:
        return int(args.func(args) or 0)
    except DBAPIError as exc:  # a sentence for the operator, not a traceback
        from services.common.errors import database_problem

        print(f"rapport {args.command}: {database_problem(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
