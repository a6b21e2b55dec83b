"""`rapport sheets`: the Google Sheet the moments are written to (sync, status, import)."""

from __future__ import annotations

import argparse
import sys
from types import FrameType
from typing import Any

from services.common.config import get_settings


def cmd_sheets(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from services.common.db import get_engine
    from services.domain.migrate import migrate
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


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("sheets", help="Google Sheets sync: sync, status, import")
    p.add_argument("action", choices=("sync", "status", "import"))
    p.add_argument("--once", action="store_true", help="sync: drain what is waiting, then exit")
    p.add_argument(
        "--spreadsheet", help="import: the old sheet's id (default SHEETS_SPREADSHEET_ID)"
    )
    p.add_argument("--worksheet", help="import: the tab to read (default the first)")
    p.set_defaults(func=cmd_sheets)
