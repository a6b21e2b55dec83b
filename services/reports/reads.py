"""Every read a page makes, typed as its query returns it and cached by its arguments until the
data behind it changes (cache.cached): two pages that ask for the same period, network and
account share one answer, and no key can drift from the arguments the query ran with."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Engine

from services.domain import conversation_levels
from services.domain.conversation_levels import Window
from services.domain.period import Period
from services.reports import cache, completeness, listening, monthly, outcome_queries, queries
from services.reports import summary as summary_module

P = ParamSpec("P")
T = TypeVar("T")


def _read(query: Callable[Concatenate[Engine, P], T], name: str | None = None) -> Callable[P, T]:
    """`query(engine, *args, **kwargs)` as `read(*args, **kwargs)`, cached under the query's
    name (the label of its time in /metrics) and exactly the arguments it ran with."""
    label = name or query.__name__

    @functools.wraps(query)
    def read(*args: P.args, **kwargs: P.kwargs) -> T:
        key = (*args, *sorted(kwargs.items()))
        return cache.cached(label, lambda: query(cache.engine(), *args, **kwargs), *key)

    return read


kind_totals = _read(queries.kind_totals)
daily_by_kind = _read(queries.daily_by_kind)
engagement_by_hour = _read(queries.engagement_by_hour)
conversations = _read(queries.conversations)
support = _read(queries.support)
moments = _read(queries.moments)
recent_moments = _read(queries.recent_moments)
follower_snapshots = _read(outcome_queries.follower_snapshots)
goals = _read(queries.goals)
filter_options = _read(queries.filter_options)
data_years = _read(queries.data_years)
heard = _read(listening.listening, "listening")
weekly_share = _read(listening.weekly_share)
dead_letters_by_source = _read(completeness.dead_letters_by_source)
summary = _read(summary_module.summary)
monthly_report = _read(monthly.render, "monthly_report")
conversation_count = _read(conversation_levels.count, "conversation_count")


def _completeness(
    engine: Engine, period: Period, *, group_id: str, network: str | None, account: str | None
) -> dict[str, Any]:
    found = completeness.read(engine, period, group_id=group_id, network=network, account=account)
    return found.as_dict()


completeness_of = _read(_completeness, "completeness")


def _conversation_page(
    engine: Engine,
    window: Window,
    *,
    sla: str | None,
    newest_first: bool,
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    rows = conversation_levels.listing(
        engine, window, sla=sla, newest_first=newest_first, offset=offset, limit=limit
    )
    return list(rows)


conversation_page = _read(_conversation_page, "conversation_page")


def _outcome_blocks(
    engine: Engine, period: Period, *, network: str | None, account: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Straight from the query, not through kind_totals: this may run in cache's refresh thread.
    totals = queries.kind_totals(engine, period, network=network, account=account)
    return summary_module.outcome_blocks(engine, period, totals, network=network, account=account)


outcome_blocks = _read(_outcome_blocks, "outcome_blocks")
