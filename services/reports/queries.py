"""Reads for the reports, from rollups and per-conversation facts only (never raw events)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.ingest.models import RollupDaily, RollupHourly, SupportConversation
from services.moments.models import Moment
from services.reports.figures import ConversationFact, MomentFact, Period
from services.reports.models import Goal

DAILY = RollupDaily.__table__  # type: ignore[attr-defined]
HOURLY = RollupHourly.__table__  # type: ignore[attr-defined]
CONVERSATIONS = SupportConversation.__table__  # type: ignore[attr-defined]
MOMENTS = Moment.__table__  # type: ignore[attr-defined]
GOALS = Goal.__table__  # type: ignore[attr-defined]


def kind_totals(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, int]:
    """Sum of `count` per kind over the period's local days (daily rollups)."""
    query = (
        select(DAILY.c.kind, func.sum(DAILY.c["count"]))
        .where(DAILY.c.day >= period.first_day, DAILY.c.day <= period.as_of)
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
        .group_by(DAILY.c.day, DAILY.c.kind)
    )
    if network:
        query = query.where(DAILY.c.network == network)
    if account:
        query = query.where(DAILY.c.account == account)
    with engine.connect() as conn:
        return [(_as_date(day), kind, int(total or 0)) for day, kind, total in conn.execute(query)]


def hourly_by_kind(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[tuple[dt.datetime, str, int]]:
    """(UTC hour, kind, count) over the period, for the weekday x hour heatmap."""
    query = (
        select(HOURLY.c.hour, HOURLY.c.kind, func.sum(HOURLY.c["count"]))
        .where(HOURLY.c.hour >= period.start_utc, HOURLY.c.hour < period.end_utc)
        .group_by(HOURLY.c.hour, HOURLY.c.kind)
    )
    if network:
        query = query.where(HOURLY.c.network == network)
    if account:
        query = query.where(HOURLY.c.account == account)
    with engine.connect() as conn:
        return [(hour, kind, int(total or 0)) for hour, kind, total in conn.execute(query)]


def conversations(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[ConversationFact]:
    """Conversations whose first inbound message falls in the period."""
    c = CONVERSATIONS.c
    query = select(c.network, c.first_inbound_at, c.first_response_at, c.resolved_at).where(
        c.first_inbound_at >= period.start_utc, c.first_inbound_at < period.end_utc
    )
    if network:
        query = query.where(c.network == network)
    if account:
        query = query.where(c.account == account)
    with engine.connect() as conn:
        return [ConversationFact(*row) for row in conn.execute(query)]


def moments(engine: Engine, period: Period, *, network: str | None = None) -> list[MomentFact]:
    m = MOMENTS.c
    query = select(m.occurred_on, m.network, m.customer_status, m.outcome, m.initiated_by).where(
        m.deleted_at.is_(None), m.occurred_on >= period.first_day, m.occurred_on <= period.as_of
    )
    if network:
        query = query.where(m.network == network)
    with engine.connect() as conn:
        return [MomentFact(_as_date(row[0]), *row[1:]) for row in conn.execute(query)]


def recent_moments(engine: Engine, limit: int = 10) -> list[dict[str, object]]:
    m = MOMENTS.c
    query = (
        select(m.id, m.occurred_on, m.network, m.people, m.customer_status, m.change, m.link)
        .where(m.deleted_at.is_(None))
        .order_by(m.occurred_on.desc(), m.created_at.desc())
        .limit(limit)
    )
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


def filter_options(engine: Engine) -> tuple[list[str], list[str]]:
    """Networks and accounts that have data, for the sidebar."""
    with engine.connect() as conn:
        rows = conn.execute(select(DAILY.c.network, DAILY.c.account).distinct()).all()
    return sorted({r[0] for r in rows}), sorted({r[1] for r in rows})


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
