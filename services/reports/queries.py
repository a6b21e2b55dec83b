"""Reads for the reports, from rollups and per-conversation facts (the outcome figures' reads are
in outcome_queries.py), and the data's version the reports' cache follows."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine

from services.domain import conversation_levels
from services.domain.competitors import not_competitor
from services.domain.period import Period
from services.domain.tables import (
    Goal,
    InteractionEvent,
    Moment,
    RollupDaily,
    RollupEngagementHourly,
    RollupOutcomeDaily,
    RollupOutcomeMonthly,
    SupportConversation,
)
from services.reports import quality
from services.reports.figures import ONE_HOUR_S, ConversationFact, MomentFact

DAILY = RollupDaily.__table__  # type: ignore[attr-defined]
CONVERSATIONS = SupportConversation.__table__  # type: ignore[attr-defined]
MOMENTS = Moment.__table__  # type: ignore[attr-defined]
GOALS = Goal.__table__  # type: ignore[attr-defined]
EVENTS = InteractionEvent.__table__  # type: ignore[attr-defined]
OUTCOME_MONTHS = RollupOutcomeMonthly.__table__  # type: ignore[attr-defined]
OUTCOME_DAYS = RollupOutcomeDaily.__table__  # type: ignore[attr-defined]
ENGAGEMENT_HOURS = RollupEngagementHourly.__table__  # type: ignore[attr-defined]


def kind_totals(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, int]:
    """Sum of `count` per kind over the period's local days (daily rollups)."""
    query = (
        select(DAILY.c.kind, func.sum(DAILY.c["count"]))
        .where(DAILY.c.day >= period.first_day, DAILY.c.day <= period.as_of)
        .where(not_competitor(DAILY.c.network, DAILY.c.account))
        .group_by(DAILY.c.kind)
    )
    if network:
        query = query.where(DAILY.c.network == network)
    if account:
        query = query.where(DAILY.c.account == account)
    with engine.connect() as conn:
        return {kind: int(total or 0) for kind, total in conn.execute(query)}


def daily_by_kind(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[tuple[dt.date, str, int]]:
    """(day, kind, count) summed over networks and accounts, for weekly trends."""
    query = (
        select(DAILY.c.day, DAILY.c.kind, func.sum(DAILY.c["count"]))
        .where(DAILY.c.day >= period.first_day, DAILY.c.day <= period.as_of)
        .where(not_competitor(DAILY.c.network, DAILY.c.account))
        .group_by(DAILY.c.day, DAILY.c.kind)
    )
    if network:
        query = query.where(DAILY.c.network == network)
    if account:
        query = query.where(DAILY.c.account == account)
    with engine.connect() as conn:
        return [(as_date(day), kind, int(total or 0)) for day, kind, total in conn.execute(query)]


def engagement_by_hour(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[tuple[dt.datetime, int]]:
    """(UTC hour, engagement) over the period, for the weekday x hour heatmap: one row an hour,
    summed in SQL over the engagement rollup's (network, account) rows of the hour (the hourly
    rollup held a row per kind as well: 5x the rows at 100M events against 10M, where this
    one holds 1.3x: bench/RESULTS.md, session 11)."""
    h = ENGAGEMENT_HOURS.c
    query = (
        select(h.hour, func.sum(h["count"]))
        .where(
            h.hour >= period.start_utc,
            h.hour < period.end_utc,
            not_competitor(h.network, h.account),
        )
        .group_by(h.hour)
    )
    if network:
        query = query.where(h.network == network)
    if account:
        query = query.where(h.account == account)
    with engine.connect() as conn:
        return [(hour, int(total or 0)) for hour, total in conn.execute(query)]


def conversations(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[ConversationFact]:
    """Conversations whose first inbound message falls in the period."""
    c = CONVERSATIONS.c
    query = select(c.network, c.first_inbound_at, c.first_response_at, c.resolved_at).where(
        c.first_inbound_at >= period.start_utc,
        c.first_inbound_at < period.end_utc,
        not_competitor(c.network, c.account),
    )
    if network:
        query = query.where(c.network == network)
    if account:
        query = query.where(c.account == account)
    with engine.connect() as conn:
        # Straight from the driver: SQLAlchemy's per-value datetime processing on SQLite cost
        # more than the query (text timestamps are parsed here with fromisoformat instead).
        rows = conn.execute(query).cursor.fetchall()
    return [
        ConversationFact(network, as_instant(inbound), as_instant(answered), as_instant(resolved))
        for network, inbound, answered, resolved in rows
    ]


def as_instant(value: str | dt.datetime | None) -> Any:
    """A stored naive-UTC instant: SQLite gives text, PostgreSQL a datetime."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def support(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, Any]:
    """The `support` block aggregated in SQL (the same figures as figures.support_figures over
    `conversations()`, which the tests check); percentiles are ranked by the database."""
    c = CONVERSATIONS.c
    where = [c.first_inbound_at >= period.start_utc, c.first_inbound_at < period.end_utc]
    where.append(not_competitor(c.network, c.account))
    if network:
        where.append(c.network == network)
    if account:
        where.append(c.account == account)
    answered = c.first_response_at < period.end_utc
    resolved = c.resolved_at < period.end_utc
    met = and_(answered, c.first_response_business_s <= c.sla_target_s)
    # One pass over the period (the counting index alone), by agent: the totals are the sums.
    counts = (
        select(
            c.agent,
            func.count(),
            func.sum(case((c.network != "email", 1), else_=0)),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((and_(answered, c.first_response_s <= ONE_HOUR_S), 1), else_=0)),
            func.sum(case((resolved, 1), else_=0)),
            func.sum(case((met, 1), else_=0)),
        )
        .where(*where)
        .group_by(c.agent)
    )
    with engine.connect() as conn:
        groups = conn.execute(counts).all()
        total, social, answered_n, within, resolved_n, met_n = (
            sum(int(row[i] or 0) for row in groups) for i in range(1, 7)
        )
        # Answered (in the period) per agent; a first response that named nobody: unassigned.
        per_agent = [(row[0], int(row[3] or 0)) for row in groups if row[3]]
        # The period's range index would win the planner over the value-ordered ones and make
        # the database sort a year of rows; the same bounds, written as an expression no index
        # answers, leave it walking the ordered index (SQLite: 61 -> 6 ms at 100,000 rows).
        inbound = func.coalesce(c.first_inbound_at, c.first_inbound_at)
        by_value = [inbound >= period.start_utc, inbound < period.end_utc, *where[2:]]
        answers = [*by_value, answered]
        endings = [*by_value, resolved]
        responses = Ranked(conn, c.first_response_s, answers, int(answered_n or 0))
        resolutions = Ranked(conn, c.resolution_s, endings, int(resolved_n or 0))
        business = Ranked(conn, c.first_response_business_s, answers, int(answered_n or 0))
        business_resolutions = Ranked(conn, c.resolution_business_s, endings, int(resolved_n or 0))
        figures = {
            "median_first_response_s": responses.percentile(0.5),
            "p90_first_response_s": responses.percentile(0.9),
            "median_resolution_s": resolutions.percentile(0.5),
            "median_first_response_business_s": business.percentile(0.5),
            "p90_first_response_business_s": business.percentile(0.9),
            "median_resolution_business_s": business_resolutions.percentile(0.5),
        }
        agents = []
        for name, answered_by in per_agent:
            theirs = [*answers, c.agent.is_(None) if name is None else c.agent == name]
            agents.append(
                {
                    "agent": name or conversation_levels.UNASSIGNED,
                    "answered": int(answered_by),
                    "median_first_response_s": Ranked(
                        conn, c.first_response_s, theirs, int(answered_by)
                    ).percentile(0.5),
                    "median_first_response_business_s": Ranked(
                        conn, c.first_response_business_s, theirs, int(answered_by)
                    ).percentile(0.5),
                }
            )
    rated, rated_by = quality.support_quality(engine, period, network=network, account=account)
    for row in agents:
        row |= rated_by.get(str(row["agent"]), {"csat": None, "csat_responses": 0})
    return {
        "conversations": total,
        "answered": int(answered_n or 0),
        "median_first_response_s": figures["median_first_response_s"],
        "p90_first_response_s": figures["p90_first_response_s"],
        "responded_within_1h_rate": int(within or 0) / total if total else None,
        "median_resolution_s": figures["median_resolution_s"],
        "social_share": int(social or 0) / total if total else None,
        # Business hours, SLA and agents: stored per conversation under its schedule.
        "median_first_response_business_s": figures["median_first_response_business_s"],
        "p90_first_response_business_s": figures["p90_first_response_business_s"],
        "median_resolution_business_s": figures["median_resolution_business_s"],
        "first_response_sla_met_rate": int(met_n or 0) / total if total else None,
        "sla_breaches": total - int(met_n or 0),
        **rated,
        "agents": sorted(agents, key=lambda row: (-row["answered"], row["agent"])),
    }


@dataclass
class Ranked:
    """`count` values of `column` under `where`, whose percentiles the database finds: it walks
    the index ordered by `column` (migration 0005) to the rank and sends back the two values
    around it (figures.percentile's interpolation). Sending every value to Python to sort took
    most of the summary's time; sorting them in SQLite was slower still."""

    conn: Connection
    column: Any
    where: list[Any]
    count: int

    def percentile(self, q: float) -> float | None:
        if not self.count:
            return None
        position = (self.count - 1) * q
        low = math.floor(position)
        high = min(low + 1, self.count - 1)
        query = select(self.column).where(*self.where)
        if low <= self.count - 1 - high:  # walk from the nearer end of the index
            rows = query.order_by(self.column).limit(2).offset(low)
            values = [float(v) for v in self.conn.execute(rows).scalars()]
        else:
            rows = query.order_by(self.column.desc()).limit(2).offset(self.count - 1 - high)
            values = [float(v) for v in self.conn.execute(rows).scalars()][::-1]
        upper = values[1] if position > low and len(values) > 1 else values[0]
        return values[0] + (upper - values[0]) * (position - low)


def moments(engine: Engine, period: Period, *, network: str | None = None) -> list[MomentFact]:
    m = MOMENTS.c
    query = select(m.occurred_on, m.network, m.customer_status, m.outcome, m.initiated_by).where(
        m.deleted_at.is_(None), m.occurred_on >= period.first_day, m.occurred_on <= period.as_of
    )
    if network:
        query = query.where(m.network == network)
    with engine.connect() as conn:
        return [MomentFact(as_date(row[0]), *row[1:]) for row in conn.execute(query)]


def recent_moments(
    engine: Engine,
    first_day: dt.date,
    last_day: dt.date,
    *,
    network: str | None = None,
    limit: int = 10,
) -> list[dict[str, object]]:
    """The latest moments that happened from `first_day` to `last_day` (inclusive)."""
    m = MOMENTS.c
    query = (
        select(m.id, m.occurred_on, m.network, m.people, m.customer_status, m.change, m.link)
        .where(m.deleted_at.is_(None), m.occurred_on >= first_day, m.occurred_on <= last_day)
        .order_by(m.occurred_on.desc(), m.created_at.desc())
        .limit(limit)
    )
    if network:
        query = query.where(m.network == network)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def goals(engine: Engine, year: int) -> dict[str, float]:
    with engine.connect() as conn:
        return {
            metric: float(target)
            for metric, target in conn.execute(
                select(GOALS.c.metric, GOALS.c.target).where(GOALS.c.year == year)
            )
        }


def filter_options(engine: Engine) -> list[tuple[str, str]]:
    """(network, account) pairs that have data, for the sidebar's filters."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(DAILY.c.network, DAILY.c.account)
            .where(not_competitor(DAILY.c.network, DAILY.c.account))
            .distinct()
        ).all()
    return sorted((str(r[0]), str(r[1])) for r in rows)


def data_years(engine: Engine) -> tuple[int, int] | None:
    """The first and last year with interactions (two index ends of the daily rollup)."""
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(DAILY.c.day), func.max(DAILY.c.day))).one()
    if first is None:
        return None
    return as_date(first).year, as_date(last).year


def as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# What every figure rests on, in one statement of index ends and small tables: it changes when
# the consumer commits events (its progress, and the broker time of its last record), when a
# letter is stored, a moment is written (every change leaves an audit row), a goal, the value
# model or a schedule is saved, a person is forgotten or retention deletes raw events. The
# reports' cache keys carry it (cache.cached), so figures are recomputed once the data changed.
DATA_VERSION = text(
    "SELECT (SELECT COALESCE(SUM(next_offset), 0) FROM consumer_progress), "
    "(SELECT MAX(last_record_at) FROM consumer_progress), "
    "(SELECT COUNT(*) FROM dead_letter), "
    "(SELECT MAX(id) FROM moment_audit), "
    "(SELECT MAX(updated_at) FROM goal), (SELECT COUNT(*) FROM goal), "
    "(SELECT MAX(updated_at) FROM value_model), "
    "(SELECT MAX(updated_at) FROM support_schedule), (SELECT COUNT(*) FROM support_schedule), "
    "(SELECT MAX(id) FROM person_erasure), "
    "(SELECT MAX(applied_at) FROM event_retention)"
)


def data_version(engine: Engine) -> tuple[str, ...]:
    """A value that changes whenever the data behind the figures does (DATA_VERSION)."""
    with engine.connect() as conn:
        return tuple(str(v) for v in conn.execute(DATA_VERSION).one())
