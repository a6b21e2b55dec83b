"""Service levels of support conversations: business-hours times, SLA and agents, read for the
summary, the pages and GET /v1/conversations alike (ARCHITECTURE.md "Service levels").

A period's conversations are read as columns (numpy arrays); business seconds come from each
conversation's schedule (its account's, else the default) when they are read, never stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from services.common.service_levels import (
    DEFAULT_TARGET_S,
    Floats,
    Schedules,
    business_durations,
    load_schedules,
)

UNASSIGNED = "unassigned"
CHUNK = 5_000
ROW_FIELDS = (
    "network", "conversation_id", "account", "agent", "url", "first_inbound_at",
    "first_response_s", "first_response_business_s", "resolution_s", "sla_met",
)  # fmt: skip


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


# The conversations behind each support figure (as of the window's end), by name.
ONLY = {
    "answered": "first_response_at < :end",
    "unanswered": "(first_response_at IS NULL OR first_response_at >= :end)",
    "within_1h": "first_response_at < :end AND first_response_s <= 3600",
    "resolved": "resolved_at < :end",
    "social": "network <> 'email'",
    "email": "network = 'email'",
}


def _stored(dialect: str, instant: dt.datetime) -> Any:
    # SQLite keeps instants as text in SQLAlchemy's format; compare in that form.
    return instant.isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else instant


def _query(
    dialect: str,
    window: Window,
    after: tuple[dt.datetime, str, str] | None = None,
    *,
    listing: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The window's conversations: for a listing every column in a stable order (first
    inbound, network, id); for the figures only what they need, in no order."""
    epoch = (
        "(julianday(first_inbound_at) - 2440587.5) * 86400.0"
        if dialect == "sqlite"
        else "EXTRACT(EPOCH FROM first_inbound_at)"
    )
    where = ["first_inbound_at >= :start", "first_inbound_at < :end"]
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
    if after is not None:
        where.append(
            "(first_inbound_at > :a_at OR (first_inbound_at = :a_at AND (network > :a_net"
            " OR (network = :a_net AND conversation_id > :a_id))))"
        )
        params.update(a_at=_stored(dialect, after[0]), a_net=after[1], a_id=after[2])
    times = (
        f"CAST({epoch} AS FLOAT), "
        "CASE WHEN first_response_at < :end THEN first_response_s END, "
        "CASE WHEN resolved_at < :end THEN resolution_s END "
        f"FROM support_conversation WHERE {' AND '.join(where)}"
    )
    if not listing:  # NULL as -1: the driver's rows then go straight into float arrays
        narrow = times.replace("_s END", "_s ELSE -1.0 END")
        return f"SELECT account, agent, {narrow}", params
    sql = (
        f"SELECT network, conversation_id, account, agent, url, first_inbound_at, {times} "
        "ORDER BY first_inbound_at, network, conversation_id"
    )
    return sql, params


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


def _floats(values: Sequence[Any]) -> Floats:
    return np.fromiter(
        (np.nan if v is None else v for v in values), dtype=np.float64, count=len(values)
    )


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


def _rows_levels(rows: Sequence[Any], schedules: Schedules) -> Levels:
    """Levels of rows as `_query` selects them (the listing's order and columns)."""
    return levels(
        schedules,
        accounts=[r[2] for r in rows],
        agents=[r[3] for r in rows],
        inbound_s=_floats([r[6] for r in rows]),
        response_s=_floats([r[7] for r in rows]),
        resolution_s=_floats([r[8] for r in rows]),
    )


def read(conn: Connection, window: Window) -> Levels:
    """The window's conversations for the figures: only the columns they need, in no order,
    through the driver (SQLite: one covering index range, ix_conversation_levels)."""
    sql, params = _query(conn.dialect.name, window, listing=False)
    if conn.dialect.name != "sqlite":  # psycopg's named style
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
    # Straight from the driver: SQLAlchemy's row objects cost more than the query here.
    rows = conn.exec_driver_sql(sql, params).fetchall()
    schedules = load_schedules(conn)
    if not rows:
        return levels(
            schedules,
            accounts=[],
            agents=[],
            inbound_s=np.zeros(0),
            response_s=np.zeros(0),
            resolution_s=np.zeros(0),
        )
    accounts, agents, inbound, response, resolution = zip(*rows, strict=True)
    response_s = np.array(response, dtype=np.float64)
    resolution_s = np.array(resolution, dtype=np.float64)
    response_s[response_s < 0] = np.nan
    resolution_s[resolution_s < 0] = np.nan
    return levels(
        schedules,
        accounts=accounts,
        agents=agents,
        inbound_s=np.array(inbound, dtype=np.float64),
        response_s=response_s,
        resolution_s=resolution_s,
    )


def _percentile(values: Floats, q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), over the values there are."""
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q * 100)) if len(finite) else None


def figures(found: Levels) -> dict[str, Any]:
    """The business-hours keys of the summary's `support`, with `agents`."""
    total = len(found.accounts)
    met = int(found.sla_met.sum())
    return {
        "median_first_response_business_s": _percentile(found.response_business_s, 0.5),
        "p90_first_response_business_s": _percentile(found.response_business_s, 0.9),
        "median_resolution_business_s": _percentile(found.resolution_business_s, 0.5),
        "first_response_sla_met_rate": met / total if total else None,
        "sla_breaches": total - met,
        "agents": agents(found),
    }


def agents(found: Levels) -> list[dict[str, Any]]:
    """One row per agent of a first response (`unassigned`: it named nobody), most answers
    first, then by name."""
    answered = np.isfinite(found.response_s)
    codes, names = _factorise(found.agents)
    rows = []
    for code, agent in enumerate(names):
        theirs = answered & (codes == code)
        if not theirs.any():
            continue
        rows.append(
            {
                "agent": agent,
                "answered": int(theirs.sum()),
                "median_first_response_s": _percentile(found.response_s[theirs], 0.5),
                "median_first_response_business_s": _percentile(
                    found.response_business_s[theirs], 0.5
                ),
            }
        )
    return sorted(rows, key=lambda row: (-row["answered"], row["agent"]))


def summary_figures(engine: Engine, window: Window) -> dict[str, Any]:
    with engine.connect() as conn:
        return figures(read(conn, window))


def listing(
    engine: Engine,
    window: Window,
    *,
    sla: str | None = None,
    after: tuple[dt.datetime, str, str] | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The window's conversations (ROW_FIELDS), oldest first, read CHUNK rows at a time so
    memory stays flat however many; `after` is the sort key of the last row already seen;
    `sla` keeps only those whose first-response SLA was `met` or `breached`."""
    sent = 0
    with engine.connect() as conn:
        schedules = load_schedules(conn)
        while True:
            sql, params = _query(conn.dialect.name, window, after)
            chunk = conn.execute(text(sql + f" LIMIT {CHUNK}"), params).all()
            if not chunk:
                return
            found = _rows_levels(chunk, schedules)
            met = found.sla_met
            for i, row in enumerate(chunk):
                if (sla == "met" and not met[i]) or (sla == "breached" and met[i]):
                    continue
                yield {
                    "network": row[0],
                    "conversation_id": row[1],
                    "account": row[2],
                    "agent": found.agents[i],
                    "url": row[4],
                    "first_inbound_at": _utc(row[5]).isoformat(),
                    "first_response_s": _number(found.response_s[i]),
                    "first_response_business_s": _number(found.response_business_s[i]),
                    "resolution_s": _number(found.resolution_s[i]),
                    "sla_met": bool(met[i]),
                }
                sent += 1
                if limit is not None and sent >= limit:
                    return
            last = chunk[-1]
            after = (_utc(last[5]).replace(tzinfo=None), last[0], last[1])


def _utc(value: str | dt.datetime) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=dt.UTC)


def _number(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
