"""Reports over a year of 10 million events: `rapport summary` and each page's queries from the
rollups, against computing the same figures from the raw events, in the same run and database."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from bench import pages
from services.common.config import Settings
from services.common.db import make_engine
from services.domain.migrate import migrate
from services.domain.period import Period
from services.domain.service_levels import make_schedule
from services.domain.stored_levels import recompute, save_schedule
from services.ingest.app import create_app
from services.ingest.rows import EVENT_COLUMNS
from services.reports import queries
from services.reports.figures import ConversationFact, brand_figures, support_figures
from services.reports.summary import summary

EVENTS = int(os.environ.get("BENCH_REPORT_EVENTS", "10000000"))
YEAR = 2026
UTC = ZoneInfo("UTC")
KINDS = ("impression", "reach", "like", "comment", "share", "click", "save", "mention")
NETWORKS = (
    ("twitter", "@rapport"),
    ("instagram", "rapport.studio"),
    ("linkedin", "Rapport"),
    ("facebook", "Rapport"),
)


def _fill(db: Path, events: int) -> None:
    """Raw events written straight into interaction_event, then rollups and conversation facts
    built from them with SQL: the same tables the consumer maintains."""
    rng = random.Random(3)
    start = dt.datetime(YEAR, 1, 1)
    seconds = 330 * 86400
    conversations = events // 100  # support threads: 3 % of interactions
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    def rows() -> Any:
        for i in range(events - 3 * conversations):
            network, account = NETWORKS[i % 4]
            at = start + dt.timedelta(seconds=rng.randrange(seconds))
            yield (
                f"b{i}",
                at.isoformat(sep=" ", timespec="microseconds"),
                0,
                network,
                KINDS[i % 8],
                rng.randint(1, 500),
                account,
                None,
                None,
                None,
                None,
                None,
                1,
                "h",
                None,
                None,
                None,
            )
        for c in range(conversations):
            network, account = NETWORKS[c % 4] if c % 3 else ("email", "support@")
            inbound = start + dt.timedelta(seconds=rng.randrange(seconds))
            reply = inbound + dt.timedelta(seconds=int(rng.lognormvariate(7.5, 1.0)))
            done = reply + dt.timedelta(seconds=int(rng.lognormvariate(9, 1.0)))
            for kind, at in (
                ("message_received", inbound),
                ("message_sent", reply),
                ("conversation_resolved", done),
            ):
                yield (
                    f"c{c}:{kind}",
                    at.isoformat(sep=" ", timespec="microseconds"),
                    0,
                    network,
                    kind,
                    1,
                    account,
                    None,
                    f"conv{c}",
                    None,
                    None,
                    None,
                    1,
                    "h",
                    None,
                    None,
                    None,
                )

    columns = ", ".join(EVENT_COLUMNS)
    marks = ", ".join("?" * len(EVENT_COLUMNS))
    conn.executemany(f"INSERT INTO interaction_event ({columns}) VALUES ({marks})", rows())
    conn.executemany(
        f"INSERT INTO interaction_event ({columns}) VALUES ({marks})", _outcomes(rng, start)
    )
    # 500 moments, with people some of whom buy later (the influenced conversions).
    conn.executemany(
        "INSERT INTO moment (id, occurred_on, network, link, people, customer_status, change, "
        "tags, logged_by, created_at, updated_at, version) "
        "VALUES (?, ?, 'twitter', 'https://x.com/a/status/1', ?, 'existing_customer', 'Stayed', "
        "'[]', 'bench', ?, ?, 1)",
        [
            (f"m{m}", (start + dt.timedelta(days=m % 320)).date().isoformat(),
             f'["customer{m * 29 % 15_000}@example.com"]', start, start)
            for m in range(500)
        ],
    )  # fmt: skip
    conn.execute(
        "INSERT INTO rollup_hourly SELECT substr(occurred_at, 1, 13) || ':00:00.000000', "
        "network, account, kind, SUM(count), COUNT(*) FROM interaction_event GROUP BY 1, 2, 3, 4"
    )
    conn.execute(
        "INSERT INTO rollup_daily SELECT substr(occurred_at, 1, 10), network, account, kind, "
        "SUM(count), COUNT(*) FROM interaction_event GROUP BY 1, 2, 3, 4"
    )
    conn.execute(
        "INSERT INTO rollup_outcome_monthly SELECT substr(occurred_at, 1, 7) || '-01', network, "
        "account, kind, COALESCE(campaign, ''), "
        "CASE WHEN value_e4 IS NULL THEN '' ELSE currency END, SUM(count), "
        "SUM(COALESCE(value_e4, 0)), COUNT(*) FROM interaction_event "
        "WHERE kind IN ('visit', 'lead', 'conversion') GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.execute(
        "INSERT INTO rollup_outcome_daily SELECT substr(occurred_at, 1, 10), network, "
        "account, kind, COALESCE(campaign, ''), "
        "CASE WHEN value_e4 IS NULL THEN '' ELSE currency END, SUM(count), "
        "SUM(COALESCE(value_e4, 0)), COUNT(*) FROM interaction_event "
        "WHERE kind IN ('visit', 'lead', 'conversion') GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.execute(
        """INSERT INTO support_conversation (network, conversation_id, account, url,
               first_inbound_at, first_response_at, resolved_at, messages_received,
               messages_sent, first_response_s, resolution_s, agent, first_response_business_s,
               resolution_business_s, sla_target_s)
           SELECT network, conversation_id, MIN(account), NULL,
                  MIN(CASE WHEN kind = 'message_received' THEN occurred_at END),
                  MIN(CASE WHEN kind = 'message_sent' THEN occurred_at END),
                  MIN(CASE WHEN kind = 'conversation_resolved' THEN occurred_at END),
                  SUM(kind = 'message_received'), SUM(kind = 'message_sent'), NULL, NULL,
                  'agent' || substr(conversation_id, -1, 1), NULL, NULL, NULL
           FROM interaction_event WHERE conversation_id IS NOT NULL
           GROUP BY network, conversation_id"""
    )
    # Whole-second timestamps: rounding removes julianday()'s float noise (~1e-5 s).
    seconds = "ROUND((julianday({}) - julianday(first_inbound_at)) * 86400.0, 3)"
    conn.execute(
        "UPDATE support_conversation SET "
        f"first_response_s = {seconds.format('first_response_at')}, "
        f"resolution_s = {seconds.format('resolved_at')}"
    )
    conn.commit()
    conn.close()


CAMPAIGNS = ("spring", "summer-sale", "launch", "always-on", None)


def _outcomes(rng: random.Random, start: dt.datetime) -> Any:
    """A year of outcomes as a shop sees them: a follower snapshot per account and day (from
    the autumn before), a GA4 row of visits and of leads per network, campaign and day, and
    20,000 orders with a person and a value (EVENT_COLUMNS order)."""

    def row(
        event_id: str,
        at: dt.datetime,
        network: str,
        account: str,
        kind: str,
        count: int,
        actor: str | None = None,
        campaign: str | None = None,
        value_e4: int | None = None,
        currency: str | None = None,
    ) -> tuple[Any, ...]:
        stamp = at.isoformat(sep=" ", timespec="microseconds")
        attributes = f'{{"utm_campaign": "{campaign}"}}' if campaign else None
        return (event_id, stamp, 0, network, kind, count, account, actor, None, None, None,
                attributes, 1, "h", value_e4, currency, campaign)  # fmt: skip

    for day in range(-90, 330):
        at = start + dt.timedelta(days=day, hours=6)
        for n, (network, account) in enumerate(NETWORKS):
            yield row(f"f{day}:{n}", at, network, account, "followers", 10_000 * (n + 1) + 7 * day)
            for campaign in CAMPAIGNS if day >= 0 else ():
                for kind, most in (("visit", 400), ("lead", 12)):
                    yield row(f"g{day}:{n}:{campaign}:{kind}", at, network, account, kind,
                              rng.randint(0, most), campaign=campaign)  # fmt: skip
    for order in range(20_000):
        network, account = NETWORKS[order % 4]
        at = start + dt.timedelta(seconds=rng.randrange(330 * 86400))
        yield row(f"o{order}", at, network, account, "conversion", 1,
                  actor=f"customer{rng.randrange(15_000)}@example.com", campaign=CAMPAIGNS[order % 5],
                  value_e4=rng.randint(500, 50_000) * 100, currency=("EUR", "USD")[order % 2])  # fmt: skip


def _raw_figures(engine: Any, period: Period) -> dict[str, Any]:
    """The baseline: the same support and brand figures computed by scanning raw events."""
    with engine.connect() as conn:
        totals = {
            kind: int(total)
            for kind, total in conn.execute(
                text(
                    "SELECT kind, SUM(count) FROM interaction_event "
                    "WHERE occurred_at >= :a AND occurred_at < :b GROUP BY kind"
                ),
                {
                    "a": period.start_utc.isoformat(sep=" ", timespec="microseconds"),
                    "b": period.end_utc.isoformat(sep=" ", timespec="microseconds"),
                },
            )
        }
        messages: dict[tuple[str, str], dict[str, list[dt.datetime]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for network, conv, kind, at in conn.execute(
            text(
                "SELECT network, conversation_id, kind, occurred_at FROM interaction_event "
                "WHERE kind IN ('message_received', 'message_sent', 'conversation_resolved')"
            )
        ):
            messages[(network, conv)][kind].append(dt.datetime.fromisoformat(at))
    facts = []
    for (network, _conv), by_kind in messages.items():
        if not by_kind["message_received"]:
            continue
        first = min(by_kind["message_received"])
        response = min((t for t in by_kind["message_sent"] if t >= first), default=None)
        resolved = min((t for t in by_kind["conversation_resolved"] if t >= first), default=None)
        facts.append(ConversationFact(network, first, response, resolved))
    return {"support": support_figures(facts, period), "brand": brand_figures(totals)}


def _close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal figures; seconds stored by SQLite's julianday() differ from Python's in the 1e-9s."""
    return a.keys() == b.keys() and all(
        a[k] == b[k]
        or (a[k] is not None and b[k] is not None and math.isclose(a[k], b[k], rel_tol=1e-9))
        for k in a
    )


def _median_ms(fn: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _set_business_hours(engine: Any) -> None:
    """A realistic schedule, so the summary computes business seconds for every conversation."""
    with Session(engine) as session:
        save_schedule(
            session,
            account=None,
            schedule=make_schedule(
                timezone="Europe/Madrid",
                hours="mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00",
                holidays=[f"{YEAR}-01-01", f"{YEAR}-01-06", f"{YEAR}-05-01"],
            ),
            actor="bench",
        )


def _conversations_csv(url: str, engine: Any) -> dict[str, Any]:
    """GET /v1/conversations?format=csv through the ingest app: every row streamed, timed, and
    its peak Python memory against a tenth of the rows (flat memory: about the same)."""
    settings = Settings(
        database_url=url,
        rapport_admin_token="bench-token",
        ingest_grpc_port=0,
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    params = {"year": YEAR, "as_of": f"{YEAR}-12-31", "format": "csv"}
    headers = {"Authorization": "Bearer bench-token"}
    with TestClient(create_app(settings, engine=engine)) as client:

        def stream(limit: int | None = None) -> tuple[int, int]:
            rows = size = 0
            with client.stream("GET", "/v1/conversations", params=params, headers=headers) as r:
                assert r.status_code == 200, r.read()
                for chunk in r.iter_text():
                    rows += chunk.count("\n")
                    size += len(chunk)
                    if limit is not None and rows >= limit:
                        break
            return rows - 1, size  # less the header

        started = time.perf_counter()
        rows, size = stream()
        seconds = time.perf_counter() - started
        tracemalloc.start()
        stream()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        stream(limit=rows // 10)
        _, peak_tenth = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_mb": round(peak / 1e6, 1),
        "peak_mb_tenth": round(peak_tenth / 1e6, 1),
    }


def fill_database(db: Path, url: str) -> float:
    """A migrated database of EVENTS events with its stored service levels; the seconds taken."""
    migrate(url)
    started = time.perf_counter()
    _fill(db, EVENTS)
    fill_s = time.perf_counter() - started
    engine = make_engine(url)
    with engine.begin() as conn:  # the stored service levels, as migration 0013 fills them
        recompute(conn)
    engine.dispose()
    return round(fill_s, 1)


def run(argv: list[str]) -> dict[str, Any]:
    if "--pages" in argv:  # the pages in Chromium only (bench/pages.py)
        return pages.run(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "reports.db"
        url = f"sqlite:///{db}"
        fill_s = fill_database(db, url)
        engine = make_engine(url)
        as_of = dt.date(YEAR, 11, 22)
        period = Period.of(YEAR, as_of, UTC)
        always_open_ms = _median_ms(lambda: summary(engine, year=YEAR, as_of=as_of, tz=UTC))
        # Saving a schedule rewrites every conversation's stored levels in its transaction.
        started = time.perf_counter()
        _set_business_hours(engine)
        schedule_change_s = time.perf_counter() - started
        summary_ms = _median_ms(lambda: summary(engine, year=YEAR, as_of=as_of, tz=UTC))
        raw_ms = _median_ms(lambda: _raw_figures(engine, period), repeat=1)
        # Memory is measured in separate runs: tracemalloc slows Python down several times.
        tracemalloc.start()
        summary(engine, year=YEAR, as_of=as_of, tz=UTC)
        _, summary_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _raw_figures(engine, period)
        _, raw_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        fast = summary(engine, year=YEAR, as_of=as_of, tz=UTC)
        slow = _raw_figures(engine, period)
        page_queries = {
            "support.conversations": _median_ms(lambda: queries.conversations(engine, period)),
            "brand.daily_by_kind": _median_ms(lambda: queries.daily_by_kind(engine, period)),
            "brand.engagement_by_hour (heatmap)": _median_ms(
                lambda: queries.engagement_by_hour(engine, period)
            ),
            "moments.moments": _median_ms(lambda: queries.moments(engine, period)),
            "sidebar.filter_options": _median_ms(lambda: queries.filter_options(engine)),
        }
        stream = _conversations_csv(url, engine)
        engine.dispose()
        browser = pages.page_times(url, Path(tmp), {"after": None})
        size_mb = round(db.stat().st_size / 1e6)
    calendar = {k: fast["support"][k] for k in slow["support"]}
    same = _close(fast["brand"], slow["brand"]) and _close(calendar, slow["support"])
    return {
        "benchmark": "reports_summary",
        "events": EVENTS,
        "database": "sqlite",
        "database_mb": size_mb,
        "fill_seconds": fill_s,
        "summary_ms": summary_ms,
        "summary_always_open_ms": always_open_ms,
        "schedule_change_s": round(schedule_change_s, 2),
        "conversations_csv": stream,
        "raw_scan_ms": raw_ms,
        "speedup": round(raw_ms / summary_ms, 1),
        "same_figures": same,
        "summary_peak_mb": round(summary_peak / 1e6, 1),
        "raw_peak_mb": round(raw_peak / 1e6, 1),
        "page_queries_ms": page_queries,
        "chromium_navigation_to_content_s": browser,
        "summary": {
            **{
                f"chromium_{name}_{measure}": row[measure]
                for name, row in browser.items()
                if isinstance(row, dict)
                for measure in ("cold_minus_warm_s", "warm_s", "warm_over_bare")
                if measure in row
            },
            "summary_ms": summary_ms,
            "schedule_change_s": round(schedule_change_s, 2),
            "conversations_csv_s": stream["seconds"],
            "conversations_csv_rows": stream["rows"],
            "conversations_csv_peak_mb_all_vs_tenth": [
                stream["peak_mb"],
                stream["peak_mb_tenth"],
            ],
            "speedup_vs_raw": round(raw_ms / summary_ms, 1),
            "same_figures": same,
        },
    }
