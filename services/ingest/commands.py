"""`rapport import`, `rapport connect` and `rapport dead-letters`: platform exports, webhook
sources and the Graph poller, and what could not be read."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.common.config import get_settings


def cmd_import(args: argparse.Namespace) -> int:
    from services.ingest.importers.cli import import_file

    return import_file(
        get_settings(),
        source=args.source,
        path=args.file,
        account=args.account,
        currency=args.currency,
    )


def cmd_connect(args: argparse.Namespace) -> int:
    if args.connect_action == "meta":
        return _connect_meta(args)
    from services.domain.webhook_status import status

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


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate
    from services.ingest.dead_letters import latest

    migrate()
    rows = latest(get_engine(), args.limit)
    if not rows:
        print("No dead letters stored (the consumer stores each one from the dead-letter topic).")
        return 0
    for at, source, reason, partition, offset, error in rows:
        print(f"{str(at)[:19]}Z  {source:<18} {reason:<16} {partition}/{offset}  {error}")
    return 0


def add_parsers(sub: Any) -> None:
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
