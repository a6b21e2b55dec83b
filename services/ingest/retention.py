"""Retention (`rapport retention apply`): raw events before a cut-off leave once the rollups hold
them, and every ingest process refuses events before it from then on.

What may leave is decided by what reads raw events after they are written: no figure does (the
reports read rollups, conversation facts and moments only), but the consumer does twice. A newer
version of an event is subtracted from the rollups as the stored one was (so events before the
cut-off are refused at ingest: a deleted one could not be subtracted), and a conversation's facts
are recomputed from all its message events whenever one of them arrives, however late. So support
messages stay, and every other kind before the cut-off leaves.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.common.clock import today_in
from services.common.config import Settings, get_settings
from services.common.db import is_sqlite, make_engine, write_guard, write_session
from services.domain.tables import EventRetention, InteractionEvent
from services.domain.vocabulary import CONVERSATION_KIND_NAMES
from services.ingest.events import Cutoff

log = logging.getLogger(__name__)
EVENTS = InteractionEvent.__table__  # type: ignore[attr-defined]
CHUNK = 20_000  # events looked at per transaction: the consumer's writes go on in between
CUTOFF_TTL_S = 60.0  # how long an ingest process trusts the cut-off it read


def _naive_utc(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def apply(engine: Engine, before: dt.date, tz: ZoneInfo, *, say: Callable[[str], None]) -> int:
    """Delete the raw events (support messages kept) before `before`'s local midnight, or before
    the stored cut-off when that is later; the rows deleted."""
    started = time.monotonic()
    # The cut-off first: from here on ingest refuses what could no longer replace exactly.
    with write_session(engine) as session:
        stored = session.get(EventRetention, 1)
        if stored is not None and stored.before_day >= before:
            if stored.before_day > before:
                say(f"The cut-off stays at {stored.before_day} (set earlier): what left is gone.")
            before = stored.before_day
            tz = ZoneInfo(stored.timezone)
        cut = _naive_utc(before, tz)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        row = stored or EventRetention(
            id=1, before_day=before, before_at=cut, timezone=tz.key, applied_at=now, deleted=0
        )
        row.before_day, row.before_at, row.timezone, row.applied_at = before, cut, tz.key, now
        session.add(row)
        session.commit()
    deleted = 0
    last = ""
    while True:
        with engine.connect() as conn:  # the chunk's upper key: an index-only walk of the ids
            upper = conn.execute(
                select(EVENTS.c.event_id)
                .where(EVENTS.c.event_id > last)
                .order_by(EVENTS.c.event_id)
                .offset(CHUNK - 1)
                .limit(1)
            ).scalar()
        in_chunk = [EVENTS.c.event_id > last]
        if upper is not None:
            in_chunk.append(EVENTS.c.event_id <= upper)
        with (
            write_guard(engine),
            engine.connect().execution_options(immediate=True) as conn,
            conn.begin(),
        ):
            done = conn.execute(
                delete(EVENTS).where(
                    and_(*in_chunk),
                    EVENTS.c.occurred_at < cut,
                    EVENTS.c.kind.not_in(sorted(CONVERSATION_KIND_NAMES)),
                )
            )
        deleted += int(done.rowcount or 0)
        if upper is None:
            break
        last = upper
    with write_session(engine) as session:
        ran = session.get(EventRetention, 1)
        assert ran is not None  # written above; retention rows are never deleted
        ran.deleted = deleted
        session.add(ran)
        session.commit()
    say(
        f"Deleted {deleted:,} raw events before {before} ({tz.key}) in "
        f"{time.monotonic() - started:.1f} s; support messages stay (conversation facts are "
        f"recomputed from them). Ingest refuses events before {before} from now on."
    )
    return deleted


class CutoffReader:
    """The stored cut-off, read again at most once a minute (every ingest process sees a new
    one within CUTOFF_TTL_S); when the database cannot be read, the last one known."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._lock = threading.Lock()
        self._read_at = -CUTOFF_TTL_S
        self._cutoff: Cutoff | None = None

    def current(self) -> Cutoff | None:
        if time.monotonic() - self._read_at < CUTOFF_TTL_S:
            return self._cutoff
        with self._lock:
            if time.monotonic() - self._read_at >= CUTOFF_TTL_S:
                self._read_at = time.monotonic()
                self._cutoff = self._read()
        return self._cutoff

    def _read(self) -> Cutoff | None:
        if is_sqlite(self._url) and not Path(self._url.split("///", 1)[-1]).exists():
            return None  # no database yet (a test, a first start): nothing was deleted
        # An engine of its own for one read a minute, closed after it: a publisher holds no
        # connection between reads (tests and tools make many publishers).
        engine = make_engine(self._url)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    select(EventRetention.before_day, EventRetention.before_at)  # type: ignore[call-overload]
                ).first()
        except SQLAlchemyError as exc:
            log.warning("retention cut-off not read (%s); keeping the last one known", exc)
            return self._cutoff
        finally:
            engine.dispose()
        if row is None:
            return None
        return Cutoff(row[1].replace(tzinfo=dt.UTC).timestamp(), row[0])


def nightly_once(
    settings: Settings,
    engine: Engine,
    run: Callable[[dt.date], int],
    *,
    today: dt.date | None = None,
) -> bool:
    """With RAPPORT_EVENT_RETENTION_DAYS set and no run yet today (RAPPORT_TIMEZONE), `run`
    retention before today minus those days; whether it ran."""
    days = settings.rapport_event_retention_days
    if not days:
        return False
    today = today or today_in(settings.timezone)
    with engine.connect() as conn:
        applied = conn.execute(select(EventRetention.applied_at)).scalar()  # type: ignore[call-overload]
    if applied is not None:
        last_day = applied.replace(tzinfo=dt.UTC).astimezone(settings.timezone).date()
        if last_day >= today:
            return False
    run(today - dt.timedelta(days=days))
    return True


def nightly(settings: Settings, stop: threading.Event, run: Callable[[dt.date], int]) -> None:
    """nightly_once, looked at hourly, until `stop`."""
    engine = make_engine(settings.database_url)
    try:
        while not stop.is_set():
            try:
                nightly_once(settings, engine, run)
            except SQLAlchemyError as exc:
                log.warning("retention not checked (%s); trying again in an hour", exc)
            stop.wait(3600)
    finally:
        engine.dispose()


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_retention(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate

    settings = get_settings()
    if args.before > today_in(settings.timezone):
        print(
            f"rapport retention: {args.before} is in the future: give a past date "
            "(events before it leave).",
            file=sys.stderr,
        )
        return 2
    migrate()
    apply(get_engine(), args.before, settings.timezone, say=print)
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("retention", help="delete raw events before a date; figures stay")
    actions = p.add_subparsers(dest="retention_action", required=True, metavar="ACTION")
    applied = actions.add_parser(
        "apply", help="delete raw events before --before (rollups and conversations keep them)"
    )
    applied.add_argument("--before", type=_date, required=True, help="YYYY-MM-DD (local day)")
    applied.set_defaults(func=cmd_retention)
