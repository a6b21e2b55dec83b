"""Service levels end to end on SQLite and PostgreSQL: schedules through the real CLI, business
hours figures, SLA and agents in `rapport summary --json`, recomputed when a schedule changes."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from services.cli import main
from services.common.config import get_settings
from services.common.db import get_engine
from services.ingest.sink import write_batch
from tests.factories import batch, message

UTC = ZoneInfo("UTC")
OFFICE = ["--timezone", "Europe/Madrid", "--hours", "mon-fri 09:00-12:00,13:00-17:00"]


def conversation(
    cid: str, received: str, answered: str | None, *, agent: str | None = None, **extra: str
) -> list[dict[str, object]]:
    events = [message("message_received", cid, received, actor="customer", **extra)]
    if answered:
        events.append(message("message_sent", cid, answered, actor=agent, **extra))
    return events


def seed(engine: Engine) -> None:
    # Times in UTC; Madrid is UTC+1 until 29 March 2026.
    events = [
        # Monday 2 March: received 07:00 Madrid (closed), answered 09:30: 30 business minutes.
        *conversation("c1", "2026-03-02T06:00:00Z", "2026-03-02T08:30:00Z", agent="lucia"),
        # Friday 6 March 16:30 -> Monday 9 March 09:30 Madrid: 1 business hour (a weekend).
        *conversation("c2", "2026-03-06T15:30:00Z", "2026-03-09T08:30:00Z", agent="marco"),
        # Saturday, received and answered while closed: 0 business seconds.
        *conversation("c3", "2026-03-07T10:00:00Z", "2026-03-07T10:20:00Z", agent="lucia"),
        # Answered at lunch (closed) 10 minutes after 11:55: 5 business minutes, no agent named.
        *conversation("c4", "2026-03-03T10:55:00Z", "2026-03-03T11:05:00Z"),
        # Never answered: counts against the SLA.
        *conversation("c5", "2026-03-04T09:00:00Z", None),
    ]
    write_batch(engine, [batch(*events)], UTC)


def summary(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()  # what earlier commands printed
    assert main(["summary", "--year", "2026", "--as-of", "2026-03-31", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["support"]  # type: ignore[no-any-return]


def test_no_schedule_is_always_open(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    support = summary(capsys)
    assert support["median_first_response_business_s"] == support["median_first_response_s"]
    # Calendar times 9000, 234000, 1200, 600: within 3600 s are c3 and c4 of 5 conversations.
    assert support["first_response_sla_met_rate"] == pytest.approx(2 / 5)
    assert support["sla_breaches"] == 3


def test_business_hours_figures_sla_and_agents(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    assert main(["hours", "set", *OFFICE, "--first-response-target", "1800"]) == 0
    assert "mon-fri 09:00-12:00,13:00-17:00 (Europe/Madrid)" in capsys.readouterr().out
    support = summary(capsys)
    # Business seconds: c1 1800, c2 3600, c3 0, c4 300; c5 unanswered.
    assert support["median_first_response_business_s"] == pytest.approx((300 + 1800) / 2)
    assert support["p90_first_response_business_s"] == pytest.approx(1800 + 0.7 * 1800)
    assert support["first_response_sla_met_rate"] == pytest.approx(3 / 5)  # c1, c3, c4
    assert support["sla_breaches"] == 2
    assert support["agents"] == [
        {
            "agent": "lucia",
            "answered": 2,
            "median_first_response_s": (9000 + 1200) / 2,
            "median_first_response_business_s": 900.0,
            # Nobody rated: docs/figures.md#response-quality-and-share-of-voice
            "csat": None,
            "csat_responses": 0,
        },
        {
            "agent": "marco",
            "answered": 1,
            "median_first_response_s": 234000.0,
            "median_first_response_business_s": 3600.0,
            # Nobody rated: docs/figures.md#response-quality-and-share-of-voice
            "csat": None,
            "csat_responses": 0,
        },
        {
            "agent": "unassigned",
            "answered": 1,
            "median_first_response_s": 600.0,
            "median_first_response_business_s": 300.0,
            # Nobody rated: docs/figures.md#response-quality-and-share-of-voice
            "csat": None,
            "csat_responses": 0,
        },
    ]


def test_conversations_written_after_the_schedule_get_its_levels(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The consumer stores each conversation's business seconds as it writes it; a message
    that arrives later (the answer) rewrites them."""
    assert main(["hours", "set", *OFFICE, "--first-response-target", "1800"]) == 0
    seed(engine)
    support = summary(capsys)
    assert support["median_first_response_business_s"] == pytest.approx((300 + 1800) / 2)
    assert support["first_response_sla_met_rate"] == pytest.approx(3 / 5)
    # c5 is answered now, Wednesday 4 March 10:00 -> 10:10 Madrid: 600 business seconds, met.
    late = message("message_sent", "c5", "2026-03-04T09:10:00Z", actor="marco")
    write_batch(engine, [batch(late)], UTC)
    support = summary(capsys)
    assert support["first_response_sla_met_rate"] == pytest.approx(4 / 5)
    marco = {a["agent"]: a for a in support["agents"]}["marco"]  # type: ignore[union-attr]
    assert marco == {
        "agent": "marco",
        "answered": 2,
        "median_first_response_s": (234000 + 600) / 2,
        "median_first_response_business_s": (3600 + 600) / 2,
        # Nobody rated: docs/figures.md#response-quality-and-share-of-voice
        "csat": None,
        "csat_responses": 0,
    }


def test_a_schedule_change_recomputes_every_figure(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    assert main(["hours", "set", *OFFICE]) == 0
    before = summary(capsys)
    # Open on Saturdays and with a holiday on Monday 9 March: c2 now runs Friday 16:30-17:00,
    # Saturday 10:00-14:00 and Tuesday 09:00-09:30 (but it was answered on the Monday, closed).
    assert (
        main(
            [
                "hours", "set", "--timezone", "Europe/Madrid",
                "--hours", "mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00",
                "--holidays", "2026-03-09",
            ]
        )
        == 0
    )  # fmt: skip
    after = summary(capsys)
    assert before["median_first_response_business_s"] != after["median_first_response_business_s"]
    marco = {a["agent"]: a for a in after["agents"]}["marco"]  # type: ignore[union-attr]
    assert marco["median_first_response_business_s"] == 1800 + 4 * 3600
    lucia = {a["agent"]: a for a in after["agents"]}["lucia"]  # type: ignore[union-attr]
    # c3 was received and answered on Saturday 11:00-11:20 Madrid: now open, 1200 s.
    assert lucia["median_first_response_business_s"] == (1800 + 1200) / 2


def test_per_account_schedules(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_batch(
        engine,
        [
            batch(
                *conversation("a1", "2026-03-07T10:00:00Z", "2026-03-07T10:20:00Z", account="@eu"),
                *conversation("a2", "2026-03-07T10:00:00Z", "2026-03-07T10:20:00Z", account="@us"),
            )
        ],
        UTC,
    )
    assert main(["hours", "set", *OFFICE]) == 0  # default: closed on Saturdays
    assert (
        main(["hours", "set", "--account", "@us", "--timezone", "America/New_York",
              "--hours", "mon-sun 00:00-24:00", "--first-response-target", "600"])
        == 0
    )  # fmt: skip
    support = summary(capsys)
    by_agent = support["agents"][0]  # type: ignore[index]
    assert by_agent["median_first_response_business_s"] == 600  # (0 + 1200) / 2
    assert support["first_response_sla_met_rate"] == 0.5  # @eu 0 s met; @us 1200 > 600 s


@pytest.mark.parametrize(
    ("args", "part"),
    [
        pytest.param(
            ["--timezone", "Mars/Base", "--hours", "mon 09:00-17:00"], "timezone", id="zone"
        ),
        pytest.param(["--timezone", "UTC", "--hours", "tue 25:00-26:00"], "tue 25:00", id="25h"),
        pytest.param(
            ["--timezone", "UTC", "--hours", "mon 17:00-09:00"], "before it starts", id="back"
        ),
        pytest.param(
            ["--timezone", "UTC", "--hours", "mon 09:00-13:00,12:00-17:00"],
            "overlaps",
            id="overlap",
        ),
        pytest.param(
            ["--timezone", "UTC", "--hours", "mon 09:00-17:00", "--holidays", "xmas"],
            "holidays",
            id="holiday",
        ),
        pytest.param(
            ["--timezone", "UTC", "--hours", "mon 09:00-17:00", "--first-response-target", "-1"],
            "first_response_target",
            id="negative-target",
        ),
    ],
)
def test_bad_schedule_input_names_the_part_and_saves_nothing(
    cli_env: None, capsys: pytest.CaptureFixture[str], args: list[str], part: str
) -> None:
    assert main(["hours", "set", *args]) == 2
    err = capsys.readouterr().err
    assert part in err and "nothing was saved" in err
    assert main(["hours", "show"]) == 0
    assert "default: always open" in capsys.readouterr().out


def test_a_database_failure_is_answered_in_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rapport_no_such_db")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        assert main(["hours", "set", *OFFICE]) == 1
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("rapport hours: The database could not be reached or written (")
    assert "rapport_no_such_db" in err and "Traceback" not in err
