"""Idempotent writes: replacement, duplicates, rollups and conversation facts on both databases."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.db import make_engine
from services.domain import stored_levels
from services.ingest import conversations, dialect
from services.ingest.sink import write_batch
from tests.conftest import emptied
from tests.factories import batch, event, message
from tests.ingest.helpers import scalar, wait_until

UTC = ZoneInfo("UTC")


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def daily(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (str(day), kind): (count, events)
        for day, kind, count, events in rows(
            engine,
            "SELECT day, kind, count, events FROM rollup_daily WHERE count <> 0 OR events <> 0",
        )
    }


def test_insert_counts_into_hourly_and_daily_rollups(engine: Engine) -> None:
    stats = write_batch(
        engine,
        [
            batch(
                event(
                    event_id="a", kind="impression", count=100, occurred_at="2026-03-02T10:15:00Z"
                ),
                event(
                    event_id="b", kind="impression", count=50, occurred_at="2026-03-02T10:45:00Z"
                ),
                event(event_id="c", kind="like", count=3, occurred_at="2026-03-02T23:30:00Z"),
            )
        ],
        UTC,
    )
    assert (stats.inserted, stats.duplicate) == (3, 0)
    assert daily(engine) == {("2026-03-02", "impression"): (150, 2), ("2026-03-02", "like"): (3, 1)}
    hourly = rows(engine, "SELECT hour, kind, count FROM rollup_hourly ORDER BY hour")
    assert [(str(h)[:16], k, c) for h, k, c in hourly] == [
        ("2026-03-02 10:00", "impression", 150),
        ("2026-03-02 23:00", "like", 3),
    ]


def test_daily_rollup_uses_the_report_timezone(engine: Engine) -> None:
    # 23:30 UTC on 2 March is already 3 March in Berlin.
    write_batch(
        engine,
        [batch(event(event_id="a", occurred_at="2026-03-02T23:30:00Z"))],
        ZoneInfo("Europe/Berlin"),
    )
    assert daily(engine) == {("2026-03-03", "like"): (1, 1)}


def test_exact_duplicate_is_a_no_op(engine: Engine) -> None:
    b = batch(event(event_id="a", kind="impression", count=100))
    write_batch(engine, [b], UTC)
    again = write_batch(engine, [b], UTC)
    assert (again.inserted, again.duplicate) == (0, 1)
    assert daily(engine) == {("2026-03-02", "impression"): (100, 1)}


def test_correction_replaces_and_rollups_follow(engine: Engine) -> None:
    write_batch(
        engine, [batch(event(event_id="snap", kind="impression", count=100), ingested_at_us=1)], UTC
    )
    # A later export of the same post: larger lifetime total, and a different day.
    corrected = event(
        event_id="snap", kind="impression", count=250, occurred_at="2026-03-05T08:00:00Z"
    )
    stats = write_batch(engine, [batch(corrected, ingested_at_us=2)], UTC)
    assert stats.replaced == 1
    assert daily(engine) == {("2026-03-05", "impression"): (250, 1)}
    assert rows(engine, "SELECT count FROM interaction_event") == [(250,)]


def test_older_version_arriving_late_is_ignored(engine: Engine) -> None:
    write_batch(engine, [batch(event(event_id="a", count=9), ingested_at_us=20)], UTC)
    stats = write_batch(engine, [batch(event(event_id="a", count=1), ingested_at_us=10)], UTC)
    assert stats.stale == 1
    assert daily(engine) == {("2026-03-02", "like"): (9, 1)}


def test_newest_version_within_one_batch_wins(engine: Engine) -> None:
    first = batch(event(event_id="a", count=1), ingested_at_us=10)
    second = batch(event(event_id="a", count=7), ingested_at_us=11)
    write_batch(engine, [second, first], UTC)
    assert daily(engine) == {("2026-03-02", "like"): (7, 1)}


def test_kind_change_moves_the_count_between_rollups(engine: Engine) -> None:
    write_batch(engine, [batch(event(event_id="a", kind="like", count=2), ingested_at_us=1)], UTC)
    write_batch(engine, [batch(event(event_id="a", kind="share", count=2), ingested_at_us=2)], UTC)
    assert daily(engine) == {("2026-03-02", "share"): (2, 1)}


def conversation(engine: Engine) -> tuple[Any, ...]:
    [row] = rows(
        engine,
        "SELECT first_inbound_at, first_response_at, resolved_at, messages_received, messages_sent "
        "FROM support_conversation",
    )
    return tuple(str(v)[:19] if isinstance(v, (dt.datetime, str)) else v for v in row)


def test_conversation_facts(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                message("message_received", "c1", "2026-03-02T10:00:00Z"),
                message("message_received", "c1", "2026-03-02T10:05:00Z"),
                message("message_sent", "c1", "2026-03-02T10:20:00Z"),
                message("message_sent", "c1", "2026-03-02T11:00:00Z"),
                message("conversation_resolved", "c1", "2026-03-02T12:00:00Z"),
            )
        ],
        UTC,
    )
    assert conversation(engine) == (
        "2026-03-02 10:00:00",
        "2026-03-02 10:20:00",
        "2026-03-02 12:00:00",
        2,
        2,
    )


def test_brand_message_before_the_first_inbound_is_not_a_response(engine: Engine) -> None:
    write_batch(engine, [batch(message("message_sent", "c1", "2026-03-02T09:00:00Z"))], UTC)
    assert conversation(engine) == (None, None, None, 0, 1)
    # The customer writes later, in another batch; the brand answers after that.
    write_batch(engine, [batch(message("message_received", "c1", "2026-03-02T10:00:00Z"))], UTC)
    assert conversation(engine)[:2] == ("2026-03-02 10:00:00", None)
    write_batch(engine, [batch(message("message_sent", "c1", "2026-03-02T10:30:00Z"))], UTC)
    assert conversation(engine)[:2] == ("2026-03-02 10:00:00", "2026-03-02 10:30:00")


def test_out_of_order_inbound_moves_the_first_inbound_back(engine: Engine) -> None:
    write_batch(engine, [batch(message("message_received", "c1", "2026-03-02T10:00:00Z"))], UTC)
    write_batch(engine, [batch(message("message_sent", "c1", "2026-03-02T10:10:00Z"))], UTC)
    write_batch(engine, [batch(message("message_received", "c1", "2026-03-02T09:00:00Z"))], UTC)
    assert conversation(engine)[:2] == ("2026-03-02 09:00:00", "2026-03-02 10:10:00")


def test_correcting_a_message_recomputes_the_conversation(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                message("message_received", "c1", "2026-03-02T10:00:00Z"),
                message("message_sent", "c1", "2026-03-02T10:10:00Z", event_id="reply"),
                ingested_at_us=1,
            )
        ],
        UTC,
    )
    # The reply actually belonged to another conversation.
    moved = message("message_sent", "c2", "2026-03-02T10:10:00Z", event_id="reply")
    write_batch(engine, [batch(moved, ingested_at_us=2)], UTC)
    facts = rows(
        engine, "SELECT conversation_id, first_response_at FROM support_conversation ORDER BY 1"
    )
    assert [(c, r) for c, r in facts] == [("c1", None), ("c2", None)]


def plan(engine: Engine, sql: str, params: dict[str, Any]) -> str:
    """The query plan as one string; on PostgreSQL with sequential scans priced out, so a test
    table of a few rows still shows whether an index *can* serve the query."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if not sqlite:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        return " | ".join(str(row[-1]) for row in conn.execute(text(explain + sql), params))


def test_every_batch_query_searches_an_index(engine: Engine) -> None:
    # These run for every batch against a table of millions of events. SQLite scanned the whole
    # table for the row-value IN list this lookup used to be; the partial index on conversations
    # only serves queries that imply conversation_id IS NOT NULL.
    sqlite = engine.dialect.name == "sqlite"
    join = (dialect.SQLITE_KEYS_JOIN if sqlite else dialect.PG_KEYS_JOIN).format(t="e")
    keys = (
        {"keys": '[["twitter", "c1"]]'}
        if sqlite
        else {"networks": ["twitter"], "conversations": ["c1"]}
    )
    messages = plan(engine, conversations.MESSAGES_OF_KEYS.format(join=join), keys)
    assert "ix_event_conversation" in messages and "SCAN e " not in messages + " ", messages
    by_id = (
        "SELECT * FROM interaction_event WHERE event_id IN (SELECT value FROM json_each(:ids))"
        if sqlite
        else "SELECT * FROM interaction_event WHERE event_id = ANY(CAST(:ids AS text[]))"
    )
    ids = plan(engine, by_id, {"ids": '["a"]' if sqlite else ["a"]})
    assert ("SEARCH interaction_event USING INDEX" if sqlite else "interaction_event_pkey") in ids
    link = plan(engine, "SELECT * FROM support_conversation WHERE url = :url", {"url": "u"})
    assert "ix_conversation_url" in link, link


def test_a_schedule_change_and_the_consumer_take_their_locks_in_one_order(
    postgresql_url: str,
) -> None:
    """`rapport hours set` holds the schedules (exclusive advisory lock) and then rewrites every
    conversation; the consumer must wait for the schedules before it locks a conversation's row,
    or each holds what the other waits for and PostgreSQL kills one (DeadlockDetected)."""
    engine = make_engine(emptied(postgresql_url))
    try:
        write_batch(engine, [batch(message("message_received", "c1", "2026-03-02T10:00:00Z"))], UTC)
        failures: list[BaseException] = []

        def consume() -> None:
            try:
                answer = message("message_sent", "c1", "2026-03-02T10:20:00Z")
                write_batch(engine, [batch(answer)], UTC)
            except BaseException as exc:
                failures.append(exc)

        with engine.connect() as schedule_change, schedule_change.begin():
            stored_levels.lock_schedules(schedule_change, exclusive=True)
            consumer = threading.Thread(target=consume)
            consumer.start()
            wait_until(
                lambda: (
                    scalar(
                        engine,
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                    )
                    == 1
                ),
                what="the consumer to wait for the schedules",
            )
            stored_levels.recompute(schedule_change)
        consumer.join(timeout=30)
        assert failures == []
        assert conversation(engine)[1] == "2026-03-02 10:20:00"
    finally:
        engine.dispose()
