"""The `rapport` command: run services, stream demo data, import exports, print figures."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from services.common import i18n
from services.common.config import get_settings


def cmd_up(args: argparse.Namespace) -> int:
    from services.up import up

    return up(demo=args.demo)


def cmd_broker(_args: argparse.Namespace) -> int:
    import os

    from services.common.processes import broker_command

    settings = get_settings()
    command = broker_command(settings.embedded_broker_port)
    os.execv(command[0], command)  # noqa: S606 - replace this process with the broker


def cmd_migrate(_args: argparse.Namespace) -> int:
    from services.common.db import migrate

    migrate()
    print("Database schema is up to date.")
    return 0


def cmd_ingest(_args: argparse.Namespace) -> int:
    import uvicorn

    from services.ingest.app import create_app

    settings = get_settings()
    app = create_app(settings)
    # What start-up built (modules, the app, its routes and models) lives as long as the
    # process: out of the cyclic collector's sight, its full collections stay short.
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.ingest_http_host,
        port=settings.ingest_http_port,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        log_config=None,  # its loggers (the access log too) go through ours: LOG_FORMAT
        timeout_graceful_shutdown=20,
        proxy_headers=False,  # X-Forwarded-For only from RAPPORT_TRUSTED_PROXIES: trust_proxies
    )
    return 0


def cmd_consumer(_args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.common.kafka import ensure_topics
    from services.common.metrics import serve_metrics
    from services.ingest.consumer import Consumer

    settings = get_settings()
    serve_metrics(settings.consumer_metrics_port, host=settings.metrics_host)
    ensure_topics(settings)
    consumer = Consumer(settings, get_engine())

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        consumer.stop_event.set()  # finish and commit the batch in hand, then leave the group

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    consumer.run()
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from services.common.db import get_engine, migrate
    from services.ingest.dead_letters import latest

    migrate()
    rows = latest(get_engine(), args.limit)
    if not rows:
        print("No dead letters stored (the consumer stores each one from the dead-letter topic).")
        return 0
    for at, source, reason, partition, offset, error in rows:
        print(f"{str(at)[:19]}Z  {source:<18} {reason:<16} {partition}/{offset}  {error}")
    return 0


def cmd_moments(_args: argparse.Namespace) -> int:
    import uvicorn

    from services.moments.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.moments_http_host,
        port=settings.moments_http_port,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        log_config=None,  # its loggers (the access log too) go through ours: LOG_FORMAT
        timeout_graceful_shutdown=20,
        proxy_headers=False,  # X-Forwarded-For only from RAPPORT_TRUSTED_PROXIES: trust_proxies
    )
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from services.common import accounts
    from services.common.auth import Role
    from services.common.db import get_engine, migrate

    migrate()
    action = args.users_action
    with Session(get_engine()) as session:
        try:
            if action == "list":
                for user in accounts.listed(session):
                    state = "disabled" if user.disabled else "active"
                    if user.must_change_password:
                        state += ", one-time password not yet replaced"
                    print(f"{user.username:<24} {user.role:<8} {state}")
                return 0
            if action == "create":
                password = args.password or accounts.generate_password()
                user = accounts.create(
                    session,
                    username=accounts.check_username(args.username),
                    password=password,
                    role=Role(args.role),
                    one_time=not args.password,
                )
                print(f"User {user.username!r} ({user.role}) created.")
                if not args.password:
                    print(
                        f"One-time password (shown only now): {password}\n"
                        "The first login with it leads to choosing a new one."
                    )
            elif action == "reset":
                password = accounts.reset_password(session, args.username)
                print(
                    f"New one-time password for {args.username!r} (shown only now): {password}\n"
                    "Their logins have ended; the first login with it leads to choosing a new one."
                )
            elif action in ("disable", "enable"):
                accounts.set_disabled(session, args.username, disabled=action == "disable")
                print(
                    f"{args.username!r} {action}d"
                    + (": every login ended." if action == "disable" else ".")
                )
            elif action == "role":
                user = accounts.set_role(session, args.username, Role(args.role))
                print(f"{user.username!r} is now {user.role}.")
            elif action == "language":
                language = None if args.language == "browser" else args.language
                user = accounts.set_language(session, args.username, language)
                chosen = i18n.NAMES[language] if language else "the browser's language"
                print(f"{user.username!r} reads the pages in {chosen}.")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


def cmd_sheets(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from services.common.db import get_engine, migrate
    from services.moments import sheets

    settings = get_settings()
    migrate()
    engine = get_engine()
    if args.action == "status":
        with Session(engine) as session:
            backlog, oldest = sheets.status(session)
        state = (
            "on"
            if sheets.enabled(settings)
            else "off (set GOOGLE_APPLICATION_CREDENTIALS and SHEETS_SPREADSHEET_ID)"
        )
        print(f"Sheets sync: {state}\nWaiting: {backlog} moments, oldest {oldest / 60:.1f} min")
        return 0
    if not sheets.enabled(settings):
        print(
            f"error: {sheets.OFF_MESSAGE}",
            file=sys.stderr,
        )
        return 2
    syncer = sheets.SheetSyncer(engine, settings)
    if args.action == "sync" and not args.once:
        import signal

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            syncer.stop_event.set()

        from services.common.metrics import serve_metrics

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        # Its own /metrics: where the sync runs as a process of its own (compose, Kubernetes),
        # the sync-failure and backlog alerts read them from here.
        serve_metrics(settings.sheet_sync_metrics_port, host=settings.metrics_host)
        print(
            "Syncing moments to the Google Sheet until stopped (Ctrl-C); metrics on "
            f"http://{settings.metrics_host}:{settings.sheet_sync_metrics_port}/metrics"
        )
        syncer.run()
        return 0
    if args.action == "import":
        from services.moments.sheet_import import import_sheet

        return import_sheet(
            engine, settings, spreadsheet=args.spreadsheet, worksheet=args.worksheet
        )
    total = 0
    while True:
        result = syncer.sync_once()
        total += result.appended + result.updated
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
            return 1
        if not (result.appended or result.updated):
            break
    print(f"Wrote {total} rows to the sheet ({syncer.requests_used} requests).")
    return 0


def cmd_reports(_args: argparse.Namespace) -> int:
    from pathlib import Path

    from streamlit.web import cli as streamlit_cli

    from services.common import logs
    from services.reports import logs as reports_logs
    from services.reports.metrics import serve_metrics
    from services.reports.server import STREAMLIT_FLAGS

    reports_logs.through_ours()  # LOG_FORMAT for Streamlit's own loggers too
    settings = get_settings()
    # From process start, not from the first page view: Prometheus must see the target up
    # after every restart, before anyone opens a page.
    serve_metrics(settings)
    _preload_reports()
    app = Path(__file__).parent / "reports" / "app.py"
    streamlit_cli.main(
        [
            "run", str(app),
            "--server.port", str(settings.reports_port),
            "--server.address", settings.reports_host,
            *STREAMLIT_FLAGS,
            *reports_logs.welcome_flags(logs.json_wanted()),
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


def cmd_import(args: argparse.Namespace) -> int:
    from services.ingest.importers.cli import import_file

    return import_file(
        get_settings(),
        source=args.source,
        path=args.file,
        account=args.account,
        currency=args.currency,
    )


def cmd_tokens(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from services.common.auth import Role, create_token, revoke_token
    from services.common.db import get_engine, migrate
    from services.common.schema import ApiToken

    migrate()
    with Session(get_engine()) as session:
        if args.action == "create":
            token = create_token(session, name=args.name, role=Role(args.role))
            print(token)
            print(
                f"Token {args.name!r} ({args.role}) created; it is shown only now.", file=sys.stderr
            )
        elif args.action == "revoke":
            count = revoke_token(session, name=args.name)
            print(f"Revoked {count} token(s) named {args.name!r}.")
            return 0 if count else 1
        else:
            for row in session.exec(select(ApiToken).order_by(ApiToken.id)):  # type: ignore[arg-type]
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(f"{row.name:<24} {row.role:<8} created {row.created_at:%Y-%m-%d}  {state}")
    return 0


def cmd_connect(args: argparse.Namespace) -> int:
    if args.connect_action == "meta":
        return _connect_meta(args)
    from services.common.webhook_status import status

    url = args.url or get_settings().ingest_metrics
    print(status(url))
    return 0


def _connect_meta(args: argparse.Namespace) -> int:
    import threading

    from services.ingest import graph_poller

    overrides = {
        k: v
        for k, v in (("meta_page_id", args.page_id), ("meta_instagram_id", args.instagram_id))
        if v
    }
    settings = get_settings().model_copy(update=overrides)
    stop = threading.Event()
    if args.once:
        stop.set()  # one round: run() polls before it first waits
    try:
        graph_poller.run(settings, stop, days=args.days)
    except graph_poller.GraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    from services import people
    from services.common import backup, competitors
    from services.common.auth import Role
    from services.ingest import retention
    from services.moments import surveys
    from services.reports import commands as reports_commands

    roles = [r.value for r in Role]
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

    p = sub.add_parser("users", help="staff accounts for the moments and reports pages")
    users_sub = p.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    create = users_sub.add_parser("create", help="create a user (prints a one-time password)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=roles, default="manager")
    create.add_argument("--password", help="set this password instead of generating one")
    create.set_defaults(func=cmd_users)
    users_sub.add_parser("list", help="every account, its role and state").set_defaults(
        func=cmd_users
    )
    for name, text in (
        ("reset", "a new one-time password (ends the account's logins)"),
        ("disable", "no more logins for the account (ends its logins)"),
        ("enable", "let a disabled account log in again"),
    ):
        verb = users_sub.add_parser(name, help=text)
        verb.add_argument("--username", required=True)
        verb.set_defaults(func=cmd_users)
    role = users_sub.add_parser("role", help="change an account's role")
    role.add_argument("--username", required=True)
    role.add_argument("--role", choices=roles, required=True)
    role.set_defaults(func=cmd_users)
    language = users_sub.add_parser(
        "language", help="the language the account reads the pages in (overrides the browser's)"
    )
    language.add_argument("--username", required=True)
    language.add_argument("--language", choices=(*i18n.LANGUAGES, "browser"), required=True)
    language.set_defaults(func=cmd_users)

    p = sub.add_parser("sheets", help="Google Sheets sync: sync, status, import")
    p.add_argument("action", choices=("sync", "status", "import"))
    p.add_argument("--once", action="store_true", help="sync: drain what is waiting, then exit")
    p.add_argument(
        "--spreadsheet", help="import: the old sheet's id (default SHEETS_SPREADSHEET_ID)"
    )
    p.add_argument("--worksheet", help="import: the tab to read (default the first)")
    p.set_defaults(func=cmd_sheets)

    for commands in (reports_commands, backup, retention, people, surveys, competitors):
        commands.add_parsers(sub)  # their parsers are theirs

    p = sub.add_parser("connect", help="platform webhooks: what each source has done")
    connect_sub = p.add_subparsers(dest="connect_action", required=True, metavar="ACTION")
    state = connect_sub.add_parser("status", help="last delivery, accepted, refused per source")
    state.add_argument("--url", help="ingest's /metrics (default: this machine's ingest)")
    state.set_defaults(func=cmd_connect)
    meta = connect_sub.add_parser("meta", help="poll Graph API insights (META_PAGE_TOKEN)")
    meta.add_argument("--page-id", help="the Facebook Page (default META_PAGE_ID)")
    meta.add_argument("--instagram-id", help="the Instagram account (default META_INSTAGRAM_ID)")
    meta.add_argument("--days", type=int, default=28, help="how far back each poll reads")
    meta.add_argument("--once", action="store_true", help="poll once and exit")
    meta.set_defaults(func=cmd_connect)

    p = sub.add_parser("dead-letters", help="the newest dead letters: when, source, reason, error")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    p.set_defaults(func=cmd_dead_letters)

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

    p = sub.add_parser("import", help="import a platform export (CSV, or a GA4 report's JSON)")
    p.add_argument(
        "--source",
        required=True,
        help="x_tweet_activity, x_daily_activity, facebook_post_insights, ..., ga4_report",
    )
    p.add_argument("file", help="path to the export")
    p.add_argument(
        "--account", help="the brand account the export belongs to (default: from the file)"
    )
    p.add_argument(
        "--currency", help="ga4_report: the revenue's currency when the report names none (EUR)"
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("tokens", help="API tokens: create, revoke, list")
    p.add_argument("action", choices=("create", "revoke", "list"))
    p.add_argument("--name", default="api")
    p.add_argument("--role", choices=roles, default="manager")
    p.set_defaults(func=cmd_tokens)
    return parser


# The processes that trace their work when OTEL_* asks (services.common.tracing).
TRACED = frozenset({"ingest", "consumer", "moments", "sheets", "import", "connect"})


def main(argv: Sequence[str] | None = None) -> int:
    from services.common import logs

    logs.configure()  # LOG_FORMAT=text|json, LOG_LEVEL
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
