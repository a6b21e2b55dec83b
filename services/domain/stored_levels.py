"""Each conversation's service levels as stored in its row, written by the consumer as it writes
a conversation (`stored_levels`) and by every schedule change, which recomputes every
conversation in the same transaction (`save_schedule`, `recompute`). On PostgreSQL an advisory
lock orders the two writers: a schedule change waits for the consumers' transactions in flight,
and they wait for it (`lock_schedules`). How levels are computed: conversation_levels.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.common.clock import utcnow
from services.domain.conversation_levels import levels
from services.domain.service_levels import (
    EPOCH,
    Floats,
    Schedule,
    Schedules,
    load_schedules,
)
from services.domain.tables import SupportSchedule


def _floats(values: Sequence[Any]) -> Floats:
    return np.fromiter(
        (np.nan if v is None else v for v in values), dtype=np.float64, count=len(values)
    )


def _number(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None


SCHEDULE_LOCK = 7_246_117  # pg advisory lock: schedule changes (exclusive) vs writers (shared)
LEVEL_COLUMNS = ("first_response_business_s", "resolution_business_s", "sla_target_s")


def lock_schedules(conn: Connection, *, exclusive: bool) -> None:
    """On PostgreSQL, hold the schedules still until this transaction ends (SQLite: its write
    transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        how = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.exec_driver_sql(f"SELECT {how}({SCHEDULE_LOCK})")


def stored_levels(
    schedules: Schedules,
    *,
    accounts: Sequence[str],
    agents: Sequence[str | None],
    inbound_at: Sequence[dt.datetime | None],
    response_s: Sequence[float | None],
    resolution_s: Sequence[float | None],
) -> list[tuple[float | None, float | None, float]]:
    """(business first response, business resolution, target) per conversation, for its row."""
    inbound = _floats([(at - EPOCH).total_seconds() if at else None for at in inbound_at])
    found = levels(
        schedules,
        accounts=accounts,
        agents=agents,
        inbound_s=inbound,
        response_s=_floats(response_s),
        resolution_s=_floats(resolution_s),
    )
    return [
        (_number(a), _number(b), float(t))
        for a, b, t in zip(
            found.response_business_s.tolist(),
            found.resolution_business_s.tolist(),
            found.target_s.tolist(),
            strict=True,
        )
    ]


def recompute(conn: Connection) -> int:
    """Store every conversation's levels from the schedules now in the database, in the caller's
    transaction; returns how many conversations were written."""
    schedules = load_schedules(conn)
    select_sql = (
        "SELECT network, conversation_id, account, agent, first_inbound_at, first_response_s, "
        "resolution_s FROM support_conversation WHERE first_inbound_at IS NOT NULL "
        "AND (network > :net OR (network = :net AND conversation_id > :cid)) "
        "ORDER BY network, conversation_id LIMIT :n"
    )
    written, after = 0, ("", "")
    while True:
        rows = conn.execute(
            text(select_sql), {"net": after[0], "cid": after[1], "n": RECOMPUTE_CHUNK}
        ).all()
        if not rows:
            return written
        values = stored_levels(
            schedules,
            accounts=[r[2] for r in rows],
            agents=[r[3] for r in rows],
            inbound_at=[_naive(r[4]) for r in rows],
            response_s=[r[5] for r in rows],
            resolution_s=[r[6] for r in rows],
        )
        _write_levels(conn, [(r[0], r[1]) for r in rows], values)
        written += len(rows)
        after = (rows[-1][0], rows[-1][1])


RECOMPUTE_CHUNK = 20_000


def _naive(value: str | dt.datetime) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=None)


def _write_levels(
    conn: Connection,
    keys: Sequence[tuple[str, str]],
    values: Sequence[tuple[float | None, float | None, float]],
) -> None:
    if conn.dialect.name == "postgresql":
        # One statement per chunk: the keys and values as arrays joined to the table.
        conn.exec_driver_sql(
            "UPDATE support_conversation c SET first_response_business_s = k.a, "
            "resolution_business_s = k.b, sla_target_s = k.t FROM unnest("
            "%s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[]) "
            "AS k(network, conversation_id, a, b, t) "
            "WHERE c.network = k.network AND c.conversation_id = k.conversation_id",
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [v[0] for v in values],
                [v[1] for v in values],
                [v[2] for v in values],
            ),
        )
        return
    conn.exec_driver_sql(
        "UPDATE support_conversation SET first_response_business_s = ?, "
        "resolution_business_s = ?, sla_target_s = ? WHERE network = ? AND conversation_id = ?",
        [(*v, *k) for k, v in zip(keys, values, strict=True)],
    )


def save_schedule(session: Session, *, account: str | None, schedule: Schedule, actor: str) -> None:
    """Store (or replace) the schedule of `account` (None: the default) and recompute every
    conversation's levels in the same transaction."""
    key = (account or "").strip()
    lock_schedules(session.connection(), exclusive=True)
    old = session.get(SupportSchedule, key)
    if old is not None:
        session.delete(old)
        session.flush()
    session.add(
        SupportSchedule(
            account=key,
            timezone=schedule.timezone,
            hours=schedule.hours_text,
            holidays=",".join(sorted(d.isoformat() for d in schedule.holidays)),
            first_response_target_s=schedule.first_response_target_s,
            updated_by=actor,
            updated_at=utcnow(),
        )
    )
    session.flush()
    recompute(session.connection())
    session.commit()
