"""Service levels of support conversations: business-hours times, SLA and agents, for the
summary, the pages and GET /v1/conversations alike
(docs/figures.md#service-levels-business-hours-sla-agents).

Each conversation's business seconds and first-response target come from its schedule (its
account's, else the default) by `levels()`, and are stored in its row by the consumer and by
every schedule change (stored_levels.py). The summary then aggregates them in SQL like the
calendar figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.domain.competitors import not_competitor_sql
from services.domain.service_levels import (
    DEFAULT_TARGET_S,
    Floats,
    Schedules,
    business_durations,
)

UNASSIGNED = "unassigned"
CHUNK = 5_000
ROW_FIELDS = (
    "network", "conversation_id", "account", "agent", "url", "first_inbound_at",
    "first_response_s", "first_response_business_s", "resolution_s", "sla_met",
    "rating", "reopened", "comment",
)  # fmt: skip

# A conversation's rating as of the window's end: its latest rating event before the end. The
# stored latest one answers unless it came after the end (rated again later, rare); only then
# are its earlier ratings read, through the conversation index of interaction_event.
RATING = (
    "CASE WHEN rated_at < :end THEN rating WHEN rated_at >= :end THEN ("
    "SELECT e.count FROM interaction_event e WHERE e.conversation_id IS NOT NULL "
    "AND e.network = support_conversation.network "
    "AND e.conversation_id = support_conversation.conversation_id "
    "AND e.kind = 'rating' AND e.occurred_at < :end "
    "ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT 1) END"
)
# The comment of the rating RATING counts, never another's: as of an end before the stored
# (latest) rating, the comment of the earlier rating event counted then, or none when that
# answer had none. The latest answer wins whole, its comment with it (or its lack of one).
_COMMENT_OF = {
    "sqlite": "json_extract(e.attributes, '$.comment')",
    "postgresql": "(e.attributes::json ->> 'comment')",
}


def comment_sql(dialect: str) -> str:
    extract = _COMMENT_OF["postgresql" if dialect == "postgresql" else "sqlite"]
    return (
        "CASE WHEN rated_at < :end THEN rating_comment WHEN rated_at >= :end THEN ("
        f"SELECT NULLIF(TRIM({extract}), '') FROM interaction_event e "
        "WHERE e.conversation_id IS NOT NULL "
        "AND e.network = support_conversation.network "
        "AND e.conversation_id = support_conversation.conversation_id "
        "AND e.kind = 'rating' AND e.occurred_at < :end "
        "ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT 1) END"
    )


REOPENED = "reopened_at < :end"


@dataclass(frozen=True)
class Window:
    """The conversations whose first inbound message falls in [start, end) (naive UTC); times
    count only when they too fall before `end` (the period's "as of")."""

    start: dt.datetime
    end: dt.datetime
    network: str | None = None
    account: str | None = None
    agent: str | None = None  # `unassigned`: answered without an actor, or not answered
    only: str | None = None  # one of ONLY: the conversations behind one support figure
    low_rating: bool = False  # rated 1 or 2 (as of `end`)
    reopened: bool = False  # a customer message after the resolution (before `end`)


# The conversations behind each support figure (as of the window's end), by name.
ONLY = {
    "answered": "first_response_at < :end",
    "unanswered": "(first_response_at IS NULL OR first_response_at >= :end)",
    "within_1h": "first_response_at < :end AND first_response_s <= 3600",
    "resolved": "resolved_at < :end",
    "social": "network <> 'email'",
    "email": "network = 'email'",
    "rated": f"({RATING}) IS NOT NULL",
    "satisfied": f"({RATING}) >= 4",
    "low_rating": f"({RATING}) <= 2",
    "reopened": REOPENED,
}


def _stored(dialect: str, instant: dt.datetime) -> Any:
    # SQLite keeps instants as text in SQLAlchemy's format; compare in that form.
    return instant.isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else instant


# First response within its schedule's target in business seconds, as of the window's end (an
# unanswered conversation has not met it).
MET = "COALESCE(first_response_at < :end AND first_response_business_s <= sla_target_s, FALSE)"
SLA = {"met": MET, "breached": f"NOT {MET}"}


def window_where(
    dialect: str, window: Window, sla: str | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The conditions that pick the window's conversations (and the SLA state asked for)."""
    # A competitor's conversations are none of the brand's (services/domain/competitors.py).
    where = ["first_inbound_at >= :start", "first_inbound_at < :end"]
    where.append(not_competitor_sql("support_conversation"))
    params: dict[str, Any] = {
        "start": _stored(dialect, window.start),
        "end": _stored(dialect, window.end),
    }
    if window.network:
        where.append("network = :network")
        params["network"] = window.network
    if window.account:
        where.append("account = :account")
        params["account"] = window.account
    if window.agent == UNASSIGNED:
        where.append("(agent IS NULL OR NOT (first_response_at < :end))")
    elif window.agent:
        where.append("agent = :agent AND first_response_at < :end")
        params["agent"] = window.agent
    if window.only:
        where.append(ONLY[window.only])
    if window.low_rating:
        where.append(ONLY["low_rating"])
    if window.reopened:
        where.append(REOPENED)
    if sla:
        where.append(SLA[sla])
    return where, params


def _query(
    dialect: str,
    window: Window,
    after: tuple[dt.datetime, str, str] | None = None,
    sla: str | None = None,
    newest_first: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The window's conversations with their stored levels, in a stable order (first inbound,
    network, id; or its reverse); a time counts only when it falls before the window's end."""
    where, params = window_where(dialect, window, sla)
    if after is not None:
        beyond = "<" if newest_first else ">"
        # The first comparison says the same as the OR's first term allows, so the databases
        # start the index range at the cursor: with the OR alone PostgreSQL read the window
        # from its start for every page (the 900,000th row's page: 1.2 s; a CSV of 1.2M rows
        # re-read 144M: bench/RESULTS.md, session 11).
        where.append(
            f"first_inbound_at {beyond}= :a_at AND (first_inbound_at {beyond} :a_at OR "
            f"(first_inbound_at = :a_at AND (network {beyond} :a_net OR (network = :a_net "
            f"AND conversation_id {beyond} :a_id))))"
        )
        params.update(a_at=_stored(dialect, after[0]), a_net=after[1], a_id=after[2])
    order = " DESC" if newest_first else ""
    answered = "first_response_at < :end"
    sql = (
        "SELECT network, conversation_id, account, "
        f"CASE WHEN {answered} THEN COALESCE(agent, '{UNASSIGNED}') ELSE '{UNASSIGNED}' END, "
        "url, first_inbound_at, "
        f"CASE WHEN {answered} THEN first_response_s END, "
        f"CASE WHEN {answered} THEN first_response_business_s END, "
        "CASE WHEN resolved_at < :end THEN resolution_s END, "
        f"CASE WHEN {MET} THEN 1 ELSE 0 END, "
        f"{RATING} AS rated, CASE WHEN {REOPENED} THEN 1 ELSE 0 END, "
        f"{comment_sql(dialect)} "
        f"FROM support_conversation WHERE {' AND '.join(where)} "
        f"ORDER BY first_inbound_at{order}, network{order}, conversation_id{order}"
    )
    return sql, params


def count(engine: Engine, window: Window, *, sla: str | None = None) -> int:
    """How many conversations `listing` would give for the window."""
    with engine.connect() as conn:
        where, params = window_where(conn.dialect.name, window, sla)
        sql = f"SELECT COUNT(*) FROM support_conversation WHERE {' AND '.join(where)}"
        return int(conn.execute(text(sql), params).scalar() or 0)


@dataclass
class Levels:
    """Per conversation, in rows' order: calendar and business seconds, target, agent."""

    accounts: list[str]
    agents: list[str]  # UNASSIGNED where nobody is named or nobody answered
    response_s: Floats  # NaN: not answered (in the period)
    response_business_s: Floats
    resolution_s: Floats
    resolution_business_s: Floats
    target_s: Floats

    @property
    def sla_met(self) -> npt.NDArray[np.bool_]:
        """First response within its schedule's target in business seconds (unanswered: no)."""
        return np.nan_to_num(self.response_business_s, nan=np.inf) <= self.target_s


def levels(
    schedules: Schedules,
    *,
    accounts: Sequence[str],
    agents: Sequence[str | None],
    inbound_s: Floats,
    response_s: Floats,
    resolution_s: Floats,
) -> Levels:
    """Service levels of conversations given as columns (NaN: not answered / not resolved)."""
    response_b, resolution_b = response_s.copy(), resolution_s.copy()
    default_target = (
        schedules.default.first_response_target_s if schedules.default else DEFAULT_TARGET_S
    )
    target = np.full(len(accounts), float(default_target))
    codes, names = _factorise(accounts)
    for code, account in enumerate(names):
        schedule = schedules.for_account(account)
        if schedule is None:
            continue  # always open: business time is calendar time
        mine = codes == code if len(names) > 1 else slice(None)
        # To the millisecond, as the calendar seconds are kept: SQLite's julianday carries the
        # instants to about 50 microseconds.
        response_b[mine] = np.round(
            business_durations(schedule, inbound_s[mine], response_s[mine]), 3
        )
        resolution_b[mine] = np.round(
            business_durations(schedule, inbound_s[mine], resolution_s[mine]), 3
        )
        target[mine] = schedule.first_response_target_s
    answered = np.isfinite(response_s)
    named = [
        (agent or UNASSIGNED) if ok else UNASSIGNED
        for agent, ok in zip(agents, answered.tolist(), strict=True)
    ]
    return Levels(list(accounts), named, response_s, response_b, resolution_s, resolution_b, target)


def _factorise(values: Sequence[str]) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer codes for the values, and the distinct values in code order (a dict is far
    faster than comparing object arrays once per distinct value)."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) <= 1:
        return np.zeros(len(values), dtype=np.int64), distinct
    index = {value: code for code, value in enumerate(distinct)}
    return np.array([index[v] for v in values], dtype=np.int64), distinct


def listing(
    engine: Engine,
    window: Window,
    *,
    sla: str | None = None,
    after: tuple[dt.datetime, str, str] | None = None,
    limit: int | None = None,
    newest_first: bool = False,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    """The window's conversations (ROW_FIELDS), oldest first (or newest first), read CHUNK
    rows at a time so memory stays flat however many; `after` is the sort key of the last row
    already seen, `offset` how many to skip (a page of a listing people read);
    `sla` keeps only those whose first-response SLA was `met` or `breached`."""
    sent = 0
    with engine.connect() as conn:
        while True:
            sql, params = _query(conn.dialect.name, window, after, sla, newest_first)
            skip = f" OFFSET {int(offset)}" if offset and after is None else ""
            chunk = conn.execute(text(sql + f" LIMIT {CHUNK}{skip}"), params).all()
            if not chunk:
                return
            for row in chunk:
                yield dict(
                    zip(
                        ROW_FIELDS,
                        (
                            *row[:5],
                            _utc(row[5]).isoformat(),
                            *(None if v is None else round(float(v), 3) for v in row[6:9]),
                            bool(row[9]),
                            None if row[10] is None else int(row[10]),
                            bool(row[11]),
                            row[12],
                        ),
                        strict=True,
                    )
                )
                sent += 1
                if limit is not None and sent >= limit:
                    return
            last = chunk[-1]
            after = (_utc(last[5]).replace(tzinfo=None), last[0], last[1])


def _utc(value: str | dt.datetime) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=dt.UTC)
