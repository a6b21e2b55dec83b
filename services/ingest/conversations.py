"""Support conversation facts: first inbound, first response, resolution, reopening and the
latest rating, recomputed from a conversation's events whenever one of them changes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, text, update

from services.domain import stored_levels
from services.domain.service_levels import load_schedules
from services.domain.tables import InteractionEvent, SupportConversation
from services.domain.vocabulary import CONVERSATION_KIND_NAMES
from services.ingest.dialect import (
    PG_CHUNK,
    PG_KEYS_JOIN,
    SQLITE_KEYS_JOIN,
    chunks,
    insert_into,
    pg_keys,
)

EVENTS: Table = InteractionEvent.__table__  # type: ignore[attr-defined]
CONVERSATIONS: Table = SupportConversation.__table__  # type: ignore[attr-defined]


# A rating's count and attributes (its comment) are read; a message's attributes never are.
MESSAGES_OF_KEYS = (
    "SELECT e.network, e.conversation_id, e.kind, e.occurred_at, e.account, e.url, e.actor, "
    "e.count, CASE WHEN e.kind = 'rating' THEN e.attributes END, e.event_id "
    "FROM interaction_event e {join} WHERE e.kind IN ("
    + ", ".join(f"'{kind}'" for kind in sorted(CONVERSATION_KIND_NAMES))
    + ")"
)


def _messages(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Message rows with occurred_at as a datetime on both databases."""
    query = text(sql).columns(
        EVENTS.c.network, EVENTS.c.conversation_id, EVENTS.c.kind, EVENTS.c.occurred_at,
        EVENTS.c.account, EVENTS.c.url, EVENTS.c.actor, EVENTS.c["count"], EVENTS.c.attributes,
        EVENTS.c.event_id,
    )  # fmt: skip
    return conn.execute(query, params)


def refresh_conversations(conn: Connection, keys: set[tuple[str, str]]) -> None:
    """Recompute the facts of these conversations from their message events."""
    if not keys:
        return
    ordered = sorted(keys)
    # Hold the schedules still (shared, on PostgreSQL) before locking any conversation row: a
    # schedule change takes them exclusively and then rewrites every row, so the one order for
    # both is schedules first, rows second (the other way round, each waits for the other).
    stored_levels.lock_schedules(conn, exclusive=False)
    ins = insert_into(conn, CONVERSATIONS).on_conflict_do_nothing(
        index_elements=["network", "conversation_id"]
    )
    conn.execute(
        ins,
        [
            {
                "network": n,
                "conversation_id": c,
                "account": "default",
                "messages_received": 0,
                "messages_sent": 0,
            }
            for n, c in ordered
        ],
    )
    messages: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
    if conn.dialect.name == "postgresql":
        # Lock the rows so two consumers touching one conversation recompute one after the other,
        # each seeing the other's committed events.
        for chunk in chunks(ordered, PG_CHUNK):
            conn.execute(
                text(
                    "SELECT c.network FROM support_conversation c "
                    + PG_KEYS_JOIN.format(t="c")
                    + " ORDER BY c.network, c.conversation_id FOR UPDATE OF c"
                ),
                pg_keys(chunk),
            )
            sql = MESSAGES_OF_KEYS.format(join=PG_KEYS_JOIN.format(t="e"))
            for row in _messages(conn, sql, pg_keys(chunk)):
                messages[(row[0], row[1])].append(row)
    else:
        sql = MESSAGES_OF_KEYS.format(join=SQLITE_KEYS_JOIN.format(t="e"))
        for row in _messages(conn, sql, {"keys": orjson.dumps(ordered).decode()}):
            messages[(row[0], row[1])].append(row)
    updates = [conversation_facts(key, messages.get(key, [])) for key in ordered]
    # Their service levels under the schedules of the moment (held still since the start).
    found = stored_levels.stored_levels(
        load_schedules(conn),
        accounts=[u["account"] for u in updates],
        agents=[u["agent"] for u in updates],
        inbound_at=[u["first_inbound_at"] for u in updates],
        response_s=[u["first_response_s"] for u in updates],
        resolution_s=[u["resolution_s"] for u in updates],
    )
    for update_row, values in zip(updates, found, strict=True):
        update_row.update(zip(stored_levels.LEVEL_COLUMNS, values, strict=True))
    # The SET clause comes from the parameter keys that name columns (SQLAlchemy executemany).
    conn.execute(
        update(CONVERSATIONS).where(
            CONVERSATIONS.c.network == bindparam("k_network"),
            CONVERSATIONS.c.conversation_id == bindparam("k_conversation_id"),
        ),
        updates,
    )


def conversation_facts(key: tuple[str, str], rows: Sequence[Any]) -> dict[str, Any]:
    """First inbound, first response at or after it, first resolution at or after it, the
    first inbound message after that resolution (reopened), and the latest rating."""
    ratings = [r for r in rows if r[2] == "rating"]
    rows = [r for r in rows if r[2] != "rating"]
    received = sorted(r[3] for r in rows if r[2] == "message_received")
    sent = sorted(r[3] for r in rows if r[2] == "message_sent")
    resolved = sorted(r[3] for r in rows if r[2] == "conversation_resolved")
    first_inbound = received[0] if received else None
    inbound_rows = [r for r in rows if r[2] == "message_received"]
    first_row = (
        min(inbound_rows, key=lambda r: r[3]) if inbound_rows else (rows[0] if rows else None)
    )

    def first_after(times: list[dt.datetime]) -> dt.datetime | None:
        if first_inbound is None:
            return None
        return next((t for t in times if t >= first_inbound), None)

    first_response = first_after(sent)
    resolved_at = first_after(resolved)
    reopened_at = (
        next((t for t in received if t > resolved_at), None) if resolved_at is not None else None
    )
    # The latest rating wins; equal instants are ordered by event id so every run agrees.
    rating = max(ratings, key=lambda r: (r[3], r[9])) if ratings else None
    # The message that was the first response: its actor is the agent.
    responder = next((r for r in rows if r[2] == "message_sent" and r[3] == first_response), None)
    return {
        "k_network": key[0],
        "k_conversation_id": key[1],
        "account": first_row[4] if first_row is not None else "default",
        "url": next((r[5] for r in sorted(rows, key=lambda r: r[3]) if r[5]), None),
        "first_inbound_at": first_inbound,
        "first_response_at": first_response,
        "resolved_at": resolved_at,
        "first_response_s": _seconds(first_inbound, first_response),
        "resolution_s": _seconds(first_inbound, resolved_at),
        "messages_received": len(received),
        "messages_sent": len(sent),
        "agent": responder[6] if responder is not None else None,
        "reopened_at": reopened_at,
        "rating": int(rating[7]) if rating is not None else None,
        "rated_at": rating[3] if rating is not None else None,
        "rating_comment": _comment(rating[8]) if rating is not None else None,
    }


def _comment(attributes: str | None) -> str | None:
    """A rating's `attributes.comment`, blank as none."""
    found = orjson.loads(attributes).get("comment") if attributes else None
    return found.strip() or None if isinstance(found, str) else None


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None
