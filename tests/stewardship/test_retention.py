"""`rapport retention apply`: raw events before the cut-off leave, every figure of every period
stays exactly as it was (the whole `summary --json`, several years and as-of dates, on both
databases), and ingest refuses events before the cut-off, naming it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.domain.vocabulary import MESSAGE_KIND_NAMES
from services.ingest import retention
from services.ingest.app import create_app
from services.ingest.events import Cutoff, Rejection, validate
from services.ingest.sink import write_batch
from tests.factories import batch, event, message
from tests.ingest.helpers import AUTH
from tests.stewardship.conftest import summaries

UTC = ZoneInfo("UTC")
Rapport = Callable[..., tuple[int, str, str]]
PERIODS = (
    (2024, None),
    (2024, "2024-06-30"),
    (2025, "2025-03-31"),
    (2025, "2025-06-30"),
    (2025, None),
    (2026, "2026-02-28"),
    (2026, None),
)
MESSAGES = "(" + ", ".join(f"'{kind}'" for kind in sorted(MESSAGE_KIND_NAMES)) + ")"


def seed(engine: Engine) -> None:
    """Three years of engagement (some totals replaced by a later export) and conversations,
    one of them asked before the cut-off and answered after it."""
    events = []
    for i in range(600):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i * 1.7)
        at = f"{day}T{i % 24:02d}:30:00Z"
        kind = ("impression", "like", "reach", "click", "share")[i % 5]
        events.append(event(event_id=f"e{i}", kind=kind, count=1 + i % 89, occurred_at=at))
        if i % 4 == 0:
            conversation = f"c{i}"
            events.append(message("message_received", conversation, at, event_id=f"in{i}"))
            answered = f"{day}T{i % 24:02d}:{40 + i % 19:02d}:00Z"
            events.append(
                message("message_sent", conversation, answered, event_id=f"out{i}", actor="ana")
            )
    write_batch(engine, [batch(*events)], UTC)
    write_batch(  # a newer export corrects older totals: they replace the first versions
        engine,
        [batch(*(event(**{**e, "count": e["count"] + 1000}) for e in events[::7]))],
        UTC,
    )
    write_batch(
        engine,
        [
            batch(
                message("message_received", "spanning", "2025-06-30T22:00:00Z", event_id="sp-1"),
                message("message_sent", "spanning", "2025-07-01T08:00:00Z", event_id="sp-2"),
            )
        ],
        UTC,
    )


def raw(engine: Engine, where: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text(f"SELECT count(*) FROM interaction_event WHERE {where}")).scalar_one()
        )


def test_retention_keeps_every_figure_and_refuses_late_events(
    db_url: str, engine: Engine, rapport: Rapport, settings: Settings, tmp_path: Path
) -> None:
    seed(engine)
    before = summaries(rapport, db_url, *PERIODS)
    old = "occurred_at < '2025-07-01'"
    leaving = raw(engine, f"{old} AND kind NOT IN {MESSAGES}")
    messages = raw(engine, f"{old} AND kind IN {MESSAGES}")
    assert leaving > 200 and messages > 50

    status, said, err = rapport(db_url, "retention", "apply", "--before", "2025-07-01")

    assert status == 0, err
    assert f"Deleted {leaving:,} raw events before 2025-07-01" in said
    assert raw(engine, f"{old} AND kind NOT IN {MESSAGES}") == 0
    assert raw(engine, f"{old} AND kind IN {MESSAGES}") == messages  # conversation facts need them
    assert raw(engine, "occurred_at >= '2025-07-01'") > 0
    assert summaries(rapport, db_url, *PERIODS) == before
    # A conversation asked before the cut-off goes on after it: its facts are recomputed from
    # its messages, and the old ones are still there.
    write_batch(
        engine,
        [batch(message("conversation_resolved", "spanning", "2025-07-02T08:00:00Z"))],
        UTC,
    )
    after = summaries(rapport, db_url, *PERIODS)
    assert after[:4] == before[:4]
    assert after[4]["support"]["median_resolution_s"] != before[4]["support"]["median_resolution_s"]
    # Every ingest process reads the cut-off from the database: events before it are refused.
    with TestClient(create_app(settings, engine=engine)) as client:
        answer = client.post(
            "/v1/interactions",
            json=[
                event(occurred_at="2025-06-30T23:59:59Z"),
                event(occurred_at="2025-07-01T00:00:00Z"),
            ],
            headers=AUTH,
        )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    (refused,) = body["rejected"]
    assert refused["index"] == 0
    assert "before 2025-07-01, the retention cut-off" in refused["error"]
    # An earlier date keeps the later cut-off: what is gone stays gone.
    status, said, err = rapport(db_url, "retention", "apply", "--before", "2025-01-01")
    assert status == 0, err
    assert "Deleted 0 raw events before 2025-07-01" in said
    assert "stays at 2025-07-01" in said


def test_the_cut_off_names_itself_and_respects_the_time_zone() -> None:
    cutoff = Cutoff.of(dt.date(2025, 7, 1), ZoneInfo("Europe/Istanbul"))  # 2025-06-30T21:00Z
    item = event(occurred_at="2025-06-30T20:59:59Z")
    found = validate(item, cutoff=cutoff)
    assert isinstance(found, Rejection)
    assert found.error.startswith("occurred_at: '2025-06-30T20:59:59Z' is before 2025-07-01")
    assert found.reason == "retention"
    assert not isinstance(
        validate(event(occurred_at="2025-06-30T21:00:00Z"), cutoff=cutoff), Rejection
    )
    assert not isinstance(validate(item), Rejection)


def test_nightly_applies_the_configured_days_once_a_day(db_url: str, engine: Engine) -> None:
    settings = Settings(
        database_url=db_url,
        rapport_event_retention_days=30,
        _env_file=None,  # type: ignore[call-arg]
    )
    asked: list[dt.date] = []

    def run(before: dt.date) -> int:
        asked.append(before)
        retention.apply(engine, before, UTC, say=lambda _line: None)
        return 0

    today = dt.date(2026, 12, 5)
    assert retention.nightly_once(settings, engine, run, today=today) is True
    assert asked == [dt.date(2026, 11, 5)]
    assert retention.nightly_once(settings, engine, run, today=today) is False  # done today
    assert retention.nightly_once(settings, engine, run, today=today + dt.timedelta(days=1))
    assert asked[-1] == dt.date(2026, 11, 6)
