"""The `rapport` command: run services, stream demo data, import exports, print figures."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from services.common.config import get_settings


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-31") from None


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

    from services.ingest.api import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.ingest_http_host,
        port=settings.ingest_http_port,
        log_level="info",
        timeout_graceful_shutdown=20,
    )
    return 0


def cmd_consumer(_args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.common.kafka import ensure_topics
    from services.common.metrics import serve_metrics
    from services.ingest.consumer import Consumer

    settings = get_settings()
    serve_metrics(settings.consumer_metrics_port)
    ensure_topics(settings)
    consumer = Consumer(settings, get_engine())

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        consumer.stop_event.set()  # finish and commit the batch in hand, then leave the group

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    consumer.run()
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.reports.summary import as_table, summary

    settings = get_settings()
    try:
        data = summary(
            get_engine(),
            year=args.year,
            as_of=args.as_of,
            tz=settings.timezone,
            network=args.network,
            account=args.account,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else as_table(data))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from services.ingest.demo import run_demo

    settings = get_settings()
    run_demo(settings, url=args.url, year=args.year)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from services.ingest.importers.cli import import_file

    return import_file(get_settings(), source=args.source, path=args.file, account=args.account)


def cmd_tokens(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from services.common.auth import ApiToken, Role, create_token, revoke_token
    from services.common.db import get_engine, migrate

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


def build_parser() -> argparse.ArgumentParser:
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

    p = sub.add_parser("summary", help="the year's support and brand figures")
    p.add_argument("--year", type=int, default=dt.date.today().year)
    p.add_argument("--as-of", type=_date, default=None, help="last day counted (default today)")
    p.add_argument("--network")
    p.add_argument("--account")
    p.add_argument("--json", action="store_true", help="print the JSON of ARCHITECTURE.md")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("demo", help="stream a realistic demo year through the ingest API")
    p.add_argument(
        "--url", default=None, help="ingest base URL (default http://127.0.0.1:$INGEST_HTTP_PORT)"
    )
    p.add_argument(
        "--year", type=int, default=None, help="year to generate (default: this year to date)"
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="import a platform CSV export")
    p.add_argument(
        "--source",
        required=True,
        help="x_tweet_activity, x_daily_activity, facebook_post_insights, ...",
    )
    p.add_argument("file", help="path to the CSV file")
    p.add_argument(
        "--account", help="the brand account the export belongs to (default: from the file)"
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("tokens", help="API tokens: create, revoke, list")
    p.add_argument("action", choices=("create", "revoke", "list"))
    p.add_argument("--name", default="api")
    p.add_argument("--role", choices=("admin", "manager", "viewer"), default="manager")
    p.set_defaults(func=cmd_tokens)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Client libraries narrate every connection and request at INFO; keep their warnings.
    for noisy in ("kafka", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
