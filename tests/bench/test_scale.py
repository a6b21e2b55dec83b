"""The scale bench's loader builds the rollups and conversation facts the consumer builds: its
SQL cannot drift from services/ingest unnoticed (bench/scale_load.py)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import psycopg
import pytest

from bench import scale_load
from bench.scale_load import Sample, Size
from tests.conftest import emptied, migrated_postgres

SIZE = Size(events=30_000, conversations=300, days=45)  # 2026-10-17 .. 2026-11-30


@pytest.fixture
def scratch_url() -> Iterator[str]:
    """A second database of the test run's own, for the consumer's writes."""
    with migrated_postgres(f"rapport_test_{os.getpid()}_scale") as url:
        yield url


@pytest.fixture(scope="module")
def loaded_url(postgresql_url: str) -> str:
    """One load for the module (the tests leave it as they found it)."""
    url = emptied(postgresql_url)
    made = scale_load.load(url, SIZE, progress=lambda _message: None)
    assert made["events"] == SIZE.events
    return url


def _keys(url: str, n: int) -> tuple[tuple[str, str], ...]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT network, conversation_id FROM support_conversation "
            "ORDER BY conversation_id LIMIT %s",
            (n,),
        )
        return tuple((str(a), str(b)) for a, b in rows)


def test_every_rollup_and_fact_is_the_consumers(loaded_url: str, scratch_url: str) -> None:
    found = scale_load.check(loaded_url, scratch_url, Sample(everything=True))
    assert found["differences"] == {}
    rows = found["rows_compared"]
    assert rows["support_conversation"] == SIZE.conversations
    assert all(rows.values()), rows


def test_a_sample_of_a_day_a_month_and_conversations_too(loaded_url: str, scratch_url: str) -> None:
    """The check a large load gets: a local day's rollups (every event of it), a month's
    outcomes and some conversations, each compared whole."""
    sample = Sample(
        everything=False,
        day=dt.date(2026, 10, 25),  # the autumn DST change: 25 hours
        month=dt.date(2026, 11, 1),
        conversations=_keys(loaded_url, 40),
    )
    found = scale_load.check(loaded_url, scratch_url, sample)
    assert found["differences"] == {}
    assert all(found["rows_compared"].values()), found["rows_compared"]


def test_a_difference_is_found(loaded_url: str, scratch_url: str) -> None:
    """The check compares values: one rollup changed by one is reported."""
    one = (
        "UPDATE rollup_daily SET count = count {} 1 WHERE (day, network, account, kind) = "
        "(SELECT day, network, account, kind FROM rollup_daily ORDER BY day DESC, network, "
        "account, kind LIMIT 1)"
    )
    with psycopg.connect(loaded_url) as conn:
        conn.execute(one.format("+"))
    try:
        found = scale_load.check(loaded_url, scratch_url, Sample(everything=True))
    finally:
        with psycopg.connect(loaded_url) as conn:
            conn.execute(one.format("-"))
    assert list(found["differences"]) == ["rollup_daily"]
