"""Reads for the outcome figures (docs/figures.md): the funnel from its daily and monthly
rollups; from raw events, through the partial indexes that hold only outcome events, what the
rollups cannot give: the latest follower snapshots, and who converted (the moments' people)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ARRAY,
    String,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import Engine

from services.domain.competitors import not_competitor
from services.domain.period import Period
from services.domain.tables import (
    CONVERTED_WHERE,
    OUTCOME_WHERE,
    UNUSUAL_ACTOR,
)
from services.domain.vocabulary import INFLUENCE_DAYS, person_key
from services.reports.outcomes import (
    NO_CAMPAIGN,
    Conversion,
    FunnelSum,
    Snapshot,
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
    found: list[FunnelSum] = []
    with engine.connect() as conn:
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
            rows = conn.execute(
                _sliced(query, table, network, account).group_by(
                    r.network, r.campaign, r.kind, r.currency
                )
            )
            found += [
                FunnelSum(n, c or NO_CAMPAIGN, k, cur or None, int(total or 0), int(v or 0))
                for n, c, k, cur, total, v in rows
            ]
    return found


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


def conversions_by_people(
    engine: Engine,
    period: Period,
    people: Iterable[str],
    *,
    network: str | None = None,
    account: str | None = None,
) -> list[Conversion]:
    """The period's conversions (count > 0) that may be by one of `people`: those whose actor is
    exactly a person's key (or it with an @), and every one whose actor a database would not
    compare as Python does (upper case, spaces, beyond ASCII); outcomes.influenced decides.
    Sending a year of orders to Python cost more than the rest of the summary (measured)."""
    keys = {person_key(p) for p in people}
    exact = sorted(v for k in keys for v in (k, "@" + k) if _simple(v))
    e = EVENTS.c
    columns = (e.actor, e.occurred_at, e["count"], e.currency, e.value_e4)
    within = (e.occurred_at >= period.start_utc, e.occurred_at < period.end_utc, e["count"] > 0)
    dialect = engine.dialect.name
    if dialect == "postgresql":
        listed = e.actor == func.any(cast(exact, ARRAY(String)))
    else:
        listed = e.actor.in_(
            select(literal_column("value")).select_from(func.json_each(json.dumps(exact)))
        )
    queries = [
        select(*columns).where(text(CONVERTED_WHERE), e.kind == "conversion", listed, *within),
        select(*columns).where(text(UNUSUAL_ACTOR[dialect]), *within),
    ]
    found: list[Conversion] = []
    with engine.connect() as conn:
        for query in queries:
            rows = conn.execute(_sliced(query, EVENTS, network, account)).cursor.fetchall()
            found += [Conversion(a, as_instant(at), int(c), cur, v) for a, at, c, cur, v in rows]
    return found


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
