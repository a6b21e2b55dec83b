"""Reads for the outcome figures (docs/figures.md): the funnel from its daily and monthly
rollups; from raw events, through the partial indexes that hold only outcome events, what the
rollups cannot give: the latest follower snapshots, and who converted (the moments' people)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import DateTime, bindparam, case, func, select, text, union_all
from sqlalchemy.engine import Engine

from services.domain.competitors import not_competitor, not_competitor_sql
from services.domain.period import Period
from services.domain.tables import OUTCOME_WHERE, UNUSUAL_ACTOR
from services.domain.vocabulary import INFLUENCE_DAYS
from services.reports.outcomes import (
    NO_CAMPAIGN,
    Conversion,
    Counted,
    FunnelSum,
    Snapshot,
    Window,
)
from services.reports.queries import (
    EVENTS,
    MOMENTS,
    OUTCOME_DAYS,
    OUTCOME_MONTHS,
    as_date,
    as_instant,
)


def _sliced(query: Any, table: Any, network: str | None, account: str | None) -> Any:
    query = query.where(not_competitor(table.c.network, table.c.account))
    if network:
        query = query.where(table.c.network == network)
    if account:
        query = query.where(table.c.account == account)
    return query


def funnel(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[FunnelSum]:
    """Visits, leads and conversions of the period summed per network, campaign, kind and
    currency: the whole months before the as-of month from their monthly rollup, that month's
    days from the daily one (summing a year of events took 4x the rest of the summary, and the
    as-of month's events grow with the events: bench/RESULTS.md, sessions 9 and 11). A currency
    without a value counts as none, as in the rollups."""
    month = period.as_of.replace(day=1)
    parts = []
    for table, bucket, first, last in (
        (OUTCOME_MONTHS, "month", period.first_day, month - dt.timedelta(days=1)),
        (OUTCOME_DAYS, "day", month, period.as_of),
    ):
        r = table.c
        query = select(
            r.network,
            r.campaign,
            r.kind,
            r.currency,
            func.sum(r["count"]),
            func.sum(r.value_e4),
        ).where(r[bucket] >= first, r[bucket] <= last)
        parts.append(
            _sliced(query, table, network, account).group_by(
                r.network, r.campaign, r.kind, r.currency
            )
        )
    # Both parts in one statement; outcome_figures adds a month's sums to a day's.
    with engine.connect() as conn:
        rows = conn.execute(union_all(*parts)).cursor.fetchall()
    return [
        FunnelSum(n, c or NO_CAMPAIGN, k, cur or None, int(total or 0), int(v or 0))
        for n, c, k, cur, total, v in rows
    ]


def follower_snapshots(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[Snapshot]:
    """Every `followers` snapshot before the period's end (a year of daily totals an account)."""
    e = EVENTS.c
    query = select(e.network, e.account, e.occurred_at, e["count"]).where(
        text(OUTCOME_WHERE), e.kind == "followers", e.occurred_at < period.end_utc
    )
    query = _sliced(query, EVENTS, network, account)
    with engine.connect() as conn:
        rows = conn.execute(query).cursor.fetchall()
    return [Snapshot(n, a, as_instant(at), int(c)) for n, a, at, c in rows]


def audience_snapshots(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[Snapshot]:
    """Of each account's snapshots only those the `audience` figures read: the last before
    1 January, the first and the last up to the period's end. The database finds their
    instants in one pass over the index, then the snapshots at them (parsing every snapshot
    since the account began took longer; a window function longer still, measured)."""
    e = EVENTS.c
    followers = (text(OUTCOME_WHERE), e.kind == "followers", e.occurred_at < period.end_utc)
    start = period.start_utc
    bounds = select(
        func.max(case((e.occurred_at < start, e.occurred_at))),
        func.min(case((e.occurred_at >= start, e.occurred_at))),
        func.max(e.occurred_at),
    ).where(*followers)
    bounds = _sliced(bounds, EVENTS, network, account).group_by(e.network, e.account)
    with engine.connect() as conn:
        found = conn.execute(bounds).cursor.fetchall()
        instants = sorted({as_instant(at) for row in found for at in row if at is not None})
        if not instants:
            return []
        query = select(e.network, e.account, e.occurred_at, e["count"]).where(
            *followers, e.occurred_at.in_(instants)
        )
        rows = conn.execute(_sliced(query, EVENTS, network, account)).cursor.fetchall()
    # An instant found for one account may be another's too: audience_figures picks per account
    # by time, so any extra snapshot it sees lies between the ones it reads.
    return [Snapshot(n, a, as_instant(at), int(c)) for n, a, at, c in rows]


def influenced_conversions(
    engine: Engine,
    period: Period,
    windows: Mapping[str, Sequence[Window]],
    *,
    network: str | None = None,
    account: str | None = None,
) -> tuple[list[Counted], list[Conversion]]:
    """The conversions (count > 0) of moments' people within their windows (person key ->
    instants: outcomes.influence_windows), summed per currency in one statement that probes
    ix_event_converted by person and window (reading the year's conversions by time instead
    grew with the orders: 35x from 10M to 100M events, bench/RESULTS.md session 11); and apart,
    every conversion whose actor a database would not compare as Python does (upper case,
    spaces, beyond ASCII: a small partial index), for outcomes.influenced to decide."""
    # A key is matched by its actor, and by it with an @ (person_key drops one), as stored.
    probes = [
        (actor, since, until)
        for key, spans in sorted(windows.items())
        if _simple(key)
        for actor in (("@" + key,) if key.startswith("@") else (key, "@" + key))
        for since, until in spans
    ]
    dialect = engine.dialect.name
    slices = [not_competitor_sql("e")]
    if network:
        slices.append("e.network = :network")
    if account:
        slices.append("e.account = :account")
    slice_params = {k: v for k, v in (("network", network), ("account", account)) if v}
    params: dict[str, Any] = dict(slice_params)
    if dialect == "postgresql":
        # A nested loop over the windows, each a range of ix_event_converted (by actor first:
        # migration 0028); chosen with 100M events' orders (bench/RESULTS.md, session 12).
        windows_sql = (
            "unnest(CAST(:actors AS text[]), CAST(:since AS timestamp[]), "
            "CAST(:until AS timestamp[])) AS w(person, since, until)"
        )
        person, since, until = "w.person", "w.since", "w.until"
        params |= {
            "actors": [p[0] for p in probes],
            "since": [p[1] for p in probes],
            "until": [p[2] for p in probes],
        }
    else:
        # CROSS JOIN: SQLite keeps the windows outside, each an index range.
        windows_sql = "json_each(:windows) AS w"
        person, since, until = (f"json_extract(w.value, '$[{i}]')" for i in range(3))
        instants = {at for _, lo, hi in probes for at in (lo, hi)}
        stored = {at: _stored(at) for at in instants}
        params["windows"] = json.dumps([[a, stored[s], stored[u]] for a, s, u in probes])
    counted = text(
        f"SELECT e.currency, SUM(e.count), SUM(e.value_e4) FROM {windows_sql} "
        "CROSS JOIN interaction_event AS e "
        f"WHERE e.kind = 'conversion' AND e.actor IS NOT NULL AND e.actor = {person} "
        f"AND e.occurred_at >= {since} AND e.occurred_at < {until} AND e.count > 0 "
        f"AND {' AND '.join(slices)} GROUP BY e.currency"
    )
    # Named for SQLite, which would read the year's conversions through ix_event_outcome (kind
    # and time) and look up each one's actor: 55 of the summary's ms at 10M events (session 12).
    hint = " INDEXED BY ix_event_converted_unusual" if dialect == "sqlite" else ""
    unusual = text(
        "SELECT e.actor, e.occurred_at, e.count, e.currency, e.value_e4 "
        f"FROM interaction_event AS e{hint} WHERE {UNUSUAL_ACTOR[dialect]} "
        "AND e.occurred_at >= :start AND e.occurred_at < :end AND e.count > 0 "
        f"AND {' AND '.join(slices)}"
    ).bindparams(bindparam("start", type_=DateTime), bindparam("end", type_=DateTime))
    with engine.connect() as conn:
        sums = [
            Counted(cur, int(n), None if v is None else int(v))
            for cur, n, v in (conn.execute(counted, params) if probes else ())
        ]
        within = {"start": period.start_utc, "end": period.end_utc}
        rows = conn.execute(unusual, within | slice_params).cursor.fetchall()
    return sums, [Conversion(a, as_instant(at), int(c), cur, v) for a, at, c, cur, v in rows]


def _stored(instant: dt.datetime) -> str:
    """A naive UTC instant as SQLite holds it (text that sorts as time)."""
    return instant.isoformat(sep=" ", timespec="microseconds")


# Printable ASCII with no space and no upper case: compared as stored, such a key matches
# exactly the actors person_key would match.
_simple = re.compile(r"[!-@\[-~]*").fullmatch


def moment_people(
    engine: Engine, period: Period, *, network: str | None = None
) -> list[tuple[dt.date, list[str]]]:
    """(occurred_on, people) of the moments that can influence the period's conversions: from
    90 days before 1 January to the as-of day."""
    m = MOMENTS.c
    since = period.first_day - dt.timedelta(days=INFLUENCE_DAYS)
    query = select(m.occurred_on, m.people).where(
        m.deleted_at.is_(None), m.occurred_on >= since, m.occurred_on <= period.as_of
    )
    if network:
        query = query.where(m.network == network)
    with engine.connect() as conn:
        return [(as_date(day), list(json.loads(people))) for day, people in conn.execute(query)]
