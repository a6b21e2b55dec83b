"""Scale on PostgreSQL (#35): the reports, the conversations API and the consumer's writes
over N events against N/10 in the same run, on the same server.

`python -m bench scale [--events N] [--conversations C] [--load-only] [--drop]` loads (once:
a database stamped complete is reused) `rapport_scale_<N>` and `rapport_scale_<N/10>`, both
with the same days, accounts and C conversations (so the smaller holds the same support
workload and the larger 10x the events in all), checks each against the consumer on a
sample, then times in alternating rounds `rapport summary`, every page's queries,
GET /v1/conversations (first page, a deep cursor page) and its CSV stream (time and peak RSS
of the serving process), and the consumer's write rate into the larger database against an
empty one. Defaults are small so it also runs in a minute; #35's run is
`--events 100000000 --conversations 2000000`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import scale_load
from bench.scale_load import TIMEZONE, Size, say
from services.common import processes
from services.common.config import get_settings
from services.common.db import make_engine
from services.domain import conversation_levels
from services.domain.competitors import not_competitor_sql
from services.domain.conversation_levels import Window, listing
from services.domain.migrate import migrate
from services.domain.period import Period
from services.domain.tables import OUTCOME_WHERE
from services.ingest.conversations_api import encode_cursor
from services.ingest.rows import build_rows
from services.ingest.sink import write
from services.reports import completeness, listening, outcome_queries, queries
from services.reports.summary import influenced, summary

BASE = os.environ.get("BENCH_SCALE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
YEAR = 2026
AS_OF = dt.date(2026, 11, 30)
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "3"))
WRITE_BATCHES = int(os.environ.get("BENCH_SCALE_WRITE_BATCHES", "20"))


def _option(argv: list[str], name: str, default: int) -> int:
    if name in argv:
        return int(argv[argv.index(name) + 1].replace("_", ""))
    return default


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def database(size: Size, *, check: bool = True) -> tuple[str, dict[str, Any]]:
    """The loaded database of `size` (loaded now unless a complete load is there), and what
    loading and the check against the consumer found."""
    name = f"rapport_scale_{size.label}"
    url = scale_load.database_url(BASE, name)
    if scale_load.loaded(BASE, name, size):
        say(f"{name}: already loaded")
        return url, {"reused": True}
    say(f"{name}: loading {size.events:,} events, {size.conversations:,} conversations")
    url = scale_load.create_database(BASE, name)
    made: dict[str, Any] = {"load_avg_before": _load_avg()}
    made |= scale_load.load(url, size)
    made["load_avg_after"] = _load_avg()
    if check:
        made["check"] = check_against_consumer(url, size)
        if made["check"]["differences"]:
            raise SystemExit(f"{name}: the loader differs from the consumer: {made['check']}")
    scale_load.stamp(BASE, name, size)
    say(f"{name}: loaded: {made}")
    return url, made


def check_against_consumer(url: str, size: Size) -> dict[str, Any]:
    scratch = scale_load.create_database(BASE, f"rapport_scale_{size.label}_check")
    try:
        return scale_load.check(url, scratch, scale_load.sample_for(url, size))
    finally:
        drop(f"rapport_scale_{size.label}_check")


def drop(name: str) -> None:
    with psycopg.connect(scale_load.admin_dsn(BASE), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- what is timed ---------------------------------------------------------------------------


def page_queries(engine: Engine, tz: ZoneInfo) -> dict[str, Callable[[], Any]]:
    """Every reads function a page calls, with the page's arguments (services/reports/views/),
    by page; `summary` is `rapport summary --json` in process (Overview and the monthly report
    show it too)."""
    period = Period.of(YEAR, AS_OF, tz)
    window = Window(period.start_utc, period.end_utc)
    n = "twitter"
    return {
        "summary (rapport summary --json)": lambda: json.dumps(
            summary(engine, year=YEAR, as_of=AS_OF, tz=tz), default=str
        ),
        "overview+support: queries.conversations": lambda: queries.conversations(engine, period),
        "overview+brand: queries.daily_by_kind": lambda: queries.daily_by_kind(engine, period),
        "overview+outcomes: queries.kind_totals": lambda: queries.kind_totals(engine, period),
        "overview: completeness.read": lambda: completeness.read(
            engine, period, group_id="rapport-consumer"
        ),
        "support: queries.support": lambda: queries.support(engine, period),
        "support: queries.support(network)": lambda: queries.support(engine, period, network=n),
        "brand: queries.engagement_by_hour": lambda: queries.engagement_by_hour(engine, period),
        "brand: queries.goals": lambda: queries.goals(engine, YEAR),
        "moments: queries.moments": lambda: queries.moments(engine, period),
        "moments: queries.recent_moments": lambda: queries.recent_moments(
            engine, period.first_day, period.as_of
        ),
        "outcomes: outcome_queries.audience_snapshots": lambda: outcome_queries.audience_snapshots(
            engine, period
        ),
        "outcomes: outcome_queries.funnel": lambda: outcome_queries.funnel(engine, period),
        "outcomes: the funnel's as-of month from its events (before 0026)": lambda: (
            as_of_month_from_events(engine, period)
        ),
        "outcomes: outcome_queries.follower_snapshots": lambda: outcome_queries.follower_snapshots(
            engine, period
        ),
        "summary: influenced (moment_people, influenced_conversions)": lambda: influenced(
            engine, period
        ),
        "share of voice: listening.listening": lambda: listening.listening(engine, period),
        "share of voice: listening.weekly_share": lambda: listening.weekly_share(engine, period),
        "conversations: count": lambda: conversation_levels.count(engine, window),
        "conversations: first page (newest)": lambda: list(
            listing(engine, window, newest_first=True, limit=100)
        ),
        "conversations: page 5,000 (newest)": lambda: list(
            listing(engine, window, newest_first=True, offset=499_900, limit=100)
        ),
        "sidebar: queries.filter_options": lambda: queries.filter_options(engine),
        "sidebar: queries.data_years": lambda: queries.data_years(engine),
        "every page: queries.data_version": lambda: queries.data_version(engine),
    }


def as_of_month_from_events(engine: Engine, period: Period) -> list[Any]:
    """What the funnel read before migration 0026 for the as-of month: its outcome events,
    through their partial index (the query of services/reports/queries.py at 0025), kept
    here as the baseline the daily rollup replaced."""
    month = period.as_of.replace(day=1)
    start = dt.datetime.combine(month, dt.time(), period.tz).astimezone(dt.UTC)
    sql = (
        "SELECT network, COALESCE(campaign, ''), kind, CASE WHEN value_e4 IS NULL THEN '' "
        "ELSE COALESCE(currency, '') END AS cur, SUM(count), SUM(value_e4) "
        f"FROM interaction_event WHERE {OUTCOME_WHERE} "
        "AND kind IN ('conversion', 'lead', 'visit') "
        "AND occurred_at >= %(start)s AND occurred_at < %(end)s "
        f"AND {not_competitor_sql('interaction_event')} GROUP BY 1, 2, 3, 4"
    )
    with engine.connect() as conn:
        params = {"start": start.replace(tzinfo=None), "end": period.end_utc}
        return list(conn.exec_driver_sql(sql, params))


def _timed_ms(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def statements(engine: Engine, work: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SQL statements `work` sends, with their parameters as the driver got them."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def explain(engine: Engine, work: Callable[[], Any]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each distinct statement `work` sends (the first of each
    text: the percentile walks repeat theirs per agent)."""
    plans, done = [], set()
    for statement, parameters in statements(engine, work):
        if statement in done or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        done.add(statement)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans.append(statement + "\n" + "\n".join(r[0] for r in rows))
    return plans


# --- GET /v1/conversations through a running ingest app -------------------------------------

TOKEN = "bench-scale-token"


def serve(url: str, port: int) -> None:
    """The ingest app under uvicorn, as `rapport ingest` serves it (`--serve URL PORT`)."""
    import uvicorn

    from services.common.config import Settings
    from services.ingest.app import create_app

    settings = Settings(
        database_url=url,
        rapport_admin_token=TOKEN,
        ingest_grpc_port=0,
        kafka_bootstrap_servers="127.0.0.1:1",
        ingest_journal_dir="",
        rapport_timezone=TIMEZONE,
        _env_file=None,
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def _rss_kb(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1])
    return found


def deep_cursor(engine: Engine, tz: ZoneInfo, position: int) -> str:
    """The cursor the API gives after `position` rows of the year's list."""
    period = Period.of(YEAR, AS_OF, tz)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT first_inbound_at, network, conversation_id FROM support_conversation "
            "WHERE first_inbound_at >= %(a)s AND first_inbound_at < %(b)s "
            "ORDER BY first_inbound_at, network, conversation_id OFFSET %(n)s LIMIT 1",
            {"a": period.start_utc, "b": period.end_utc, "n": position - 1},
        ).one()
    at = row[0].replace(tzinfo=dt.UTC).isoformat()
    return encode_cursor({"first_inbound_at": at, "network": row[1], "conversation_id": row[2]})


def api_round(url: str, cursor: str, *, csv: bool) -> dict[str, Any]:
    """A fresh server: the first page, the deep cursor page (median of 5 each, after one), and
    with `csv` the whole year's CSV stream, the server's RSS sampled as it goes."""
    import httpx

    port = processes.free_port()
    command = [sys.executable, "-m", "bench.scale", "--serve", url, str(port)]
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        processes.wait_for_port(port, timeout_s=60)
        base = f"http://127.0.0.1:{port}/v1/conversations"
        params = {"year": str(YEAR), "as_of": AS_OF.isoformat()}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        out: dict[str, Any] = {}
        with httpx.Client(headers=headers, timeout=600) as client:
            for name, extra in (("first_page", {}), ("deep_cursor_page", {"cursor": cursor})):
                times = []
                for _ in range(6):
                    started = time.perf_counter()
                    r = client.get(base, params={**params, **extra})
                    times.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200 and len(r.json()["items"]) == 100, r.text[:300]
                out[f"{name}_ms"] = round(statistics.median(times[1:]), 1)
            if csv:
                out["csv"] = _csv(client, base, params, server.pid)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def _csv(client: Any, base: str, params: dict[str, str], pid: int) -> dict[str, Any]:
    before = _rss_kb(pid)
    rows = size = 0
    samples: list[tuple[int, int]] = []
    started = time.perf_counter()
    with client.stream("GET", base, params={**params, "format": "csv"}) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
            if not samples or rows - samples[-1][0] >= 100_000:
                samples.append((rows, _rss_kb(pid)["VmRSS"]))
    seconds = time.perf_counter() - started
    after = _rss_kb(pid)
    return {
        "rows": rows - 1,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": round((rows - 1) / seconds),
        "rss_mb_before": round(before["VmRSS"] / 1024, 1),
        "rss_mb_at_rows": [(n, round(kb / 1024, 1)) for n, kb in samples],
        "peak_rss_mb": round(after["VmHWM"] / 1024, 1),
    }


# --- the consumer's write rate ----------------------------------------------------------------


def new_batches(url: str, size: Size, batches: int, nonce: str) -> list[Any]:
    """`batches` consumer batches of new events (20,000 each, records of 2,000): the loader's
    mix just after its span (new conversations too), with ids no run has written."""
    wanted = batches * scale_load.BATCH
    m = size.events  # from the end of the span on: every instant after the loaded ones
    share = size.conversations / max(1, size.events)
    c_new = max(1, int(wanted * share))
    params = {
        "m": m, "m0": m, "m1": m + wanted - 4 * c_new, "c": size.conversations,
        "c0": size.conversations, "c1": size.conversations + c_new,
        "start": size.start, "span": size.span_s,
    }  # fmt: skip
    sql = (
        f"SELECT * FROM ({scale_load._psycopg(scale_load.SCALED)} UNION ALL "
        f"{scale_load._psycopg(scale_load.CONVERSATION)}) AS made ORDER BY occurred_at"
    )
    with psycopg.connect(url) as conn:
        made = conn.execute(sql, params).fetchall()
    rows = []
    for r in made:
        row = list(r)
        row[0] = f"{nonce}:{row[0]}"
        if row[8]:
            row[8] = f"{row[8]}:{nonce}"
        row[12] = int(row[1].replace(tzinfo=dt.UTC).timestamp() * 1e6) + 2_000_000
        rows.append(tuple(row))
    return list(scale_load._records(rows))


def write_rate(urls: dict[str, str], batches: list[Any], tz: ZoneInfo) -> dict[str, Any]:
    """The consumer's write (sink.write: events, rollups, conversation facts, one transaction
    per batch) of the same batches into each database, alternating batch by batch; rows are
    built before the clock starts (the consumer builds the next batch while one is written)."""
    engines = {name: make_engine(url) for name, url in urls.items()}
    spent = dict.fromkeys(urls, 0.0)
    events = 0
    try:
        for records in batches:
            for name, engine in engines.items():
                rows = build_rows(records, "postgresql", tz)
                started = time.perf_counter()
                write(engine, rows)
                spent[name] += time.perf_counter() - started
            events += sum(len(r.events) for r in records)
    finally:
        for engine in engines.values():
            engine.dispose()
    return {name: round(events / seconds) for name, seconds in spent.items()} | {"events": events}


def run(argv: list[str]) -> dict[str, Any]:
    events = _option(argv, "--events", 2_000_000)
    conversations = _option(argv, "--conversations", 20_000)
    large = Size(events, conversations)
    small = Size(events // 10, conversations)
    out: dict[str, Any] = {"benchmark": "scale", "events": events, "conversations": conversations}
    out["load"] = {}
    for size in (small, large):
        out["load"][size.label] = database(size)[1]
    if "--load-only" in argv:
        out["summary"] = {"loaded": [small.label, large.label]}
        return out
    tz = ZoneInfo(TIMEZONE)
    urls = {
        small.label: scale_load.database_url(BASE, f"rapport_scale_{small.label}"),
        large.label: scale_load.database_url(BASE, f"rapport_scale_{large.label}"),
    }
    # The loaded days are local days of TIMEZONE: migrations that key by day read it (0026).
    os.environ["RAPPORT_TIMEZONE"] = TIMEZONE
    get_settings.cache_clear()
    out["migrate_s"] = {}
    for label, url in urls.items():  # a database loaded at an older head gets the new ones
        started = time.perf_counter()
        migrate(url)
        out["migrate_s"][label] = round(time.perf_counter() - started, 1)
    if "--check" in argv:  # a reused database against the consumer, its new tables too
        out["check"] = {
            size.label: check_against_consumer(urls[size.label], size) for size in (small, large)
        }
    engines = {label: make_engine(url) for label, url in urls.items()}
    works = {label: page_queries(engine, tz) for label, engine in engines.items()}
    times: dict[str, dict[str, list[float]]] = {label: {} for label in urls}
    loads = []
    for round_ in range(ROUNDS):
        loads.append(_load_avg())
        say(f"round {round_ + 1} of {ROUNDS}, load {loads[-1]}")
        for label in urls:  # alternating: each query at both sizes within seconds
            for name, work in works[label].items():
                times[label].setdefault(name, []).append(_timed_ms(work))
    out["queries_ms"] = {
        name: {
            small.label: round(statistics.median(times[small.label][name]), 1),
            large.label: round(statistics.median(times[large.label][name]), 1),
            "ratio": round(
                statistics.median(times[large.label][name])
                / max(statistics.median(times[small.label][name]), 0.01),
                2,
            ),
        }
        for name in works[small.label]
    }
    out["load_avg_per_round"] = loads
    say("GET /v1/conversations")
    api: dict[str, list[dict[str, Any]]] = {label: [] for label in urls}
    cursors = {label: deep_cursor(engines[label], tz, 900_000 if conversations >= 1_500_000
                                  else conversations // 3) for label in urls}  # fmt: skip
    for round_ in range(ROUNDS):
        for label, url in urls.items():
            api[label].append(api_round(url, cursors[label], csv=round_ == 0))
    out["api"] = {
        label: {
            "first_page_ms": statistics.median(r["first_page_ms"] for r in rounds),
            "deep_cursor_page_ms": statistics.median(r["deep_cursor_page_ms"] for r in rounds),
            "csv": rounds[0]["csv"],
        }
        for label, rounds in api.items()
    }
    if "--explain" in argv:
        say("EXPLAIN (ANALYZE, BUFFERS)")
        folder = Path("var/bench")
        folder.mkdir(parents=True, exist_ok=True)
        for label, engine in engines.items():
            with (folder / f"scale-explain-{label}.txt").open("w") as f:
                for name, work in works[label].items():
                    f.write(f"===== {name}\n")
                    for plan in explain(engine, work):
                        f.write(plan + "\n\n")
    for engine in engines.values():
        engine.dispose()
    say("the consumer's write rate")
    empty = scale_load.create_database(BASE, "rapport_scale_empty")
    nonce = f"w{int(time.time())}"
    batches = new_batches(urls[large.label], large, WRITE_BATCHES, nonce)
    before = _load_avg()
    rates = write_rate({large.label: urls[large.label], "empty": empty}, batches, tz)
    out["consumer_write"] = rates | {
        "ratio": round(rates[large.label] / rates["empty"], 3),
        "load_avg": [before, _load_avg()],
    }
    q = out["queries_ms"]
    out["summary"] = {
        "summary_ms": [q["summary (rapport summary --json)"][k] for k in urls],
        "worst_query_ratio": max(v["ratio"] for v in q.values()),
        "first_page_ms": [out["api"][k]["first_page_ms"] for k in urls],
        "deep_cursor_page_ms": [out["api"][k]["deep_cursor_page_ms"] for k in urls],
        "csv_s": [out["api"][k]["csv"]["seconds"] for k in urls],
        "csv_peak_rss_mb": [out["api"][k]["csv"]["peak_rss_mb"] for k in urls],
        "consumer_write_ratio": out["consumer_write"]["ratio"],
    }
    if "--drop" in argv:
        for label in (*urls, "empty"):
            drop(f"rapport_scale_{label}")
    return out


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return 0
    print(json.dumps(run(sys.argv[1:]), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
