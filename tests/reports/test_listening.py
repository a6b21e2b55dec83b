"""Competitors and share of voice (docs/figures.md#response-quality-and-share-of-voice) on
SQLite and PostgreSQL: competitors added after their events leave every brand and support figure
and count only in `listening`; removing one gives its events back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.cli import main
from services.domain import competitors
from services.domain.conversation_levels import Window, listing
from services.domain.period import Period
from services.ingest.sink import write_batch
from services.reports import listening
from services.reports.figures import goal_progress
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")
PERIOD = Period.of(2026, dt.date(2026, 3, 31), UTC)


def seed(engine: Engine) -> None:
    def said(account: str, network: str, count: int, day: str, kind: str = "mention") -> Any:
        return event(kind=kind, account=account, network=network, count=count,
                     occurred_at=f"2026-{day}T10:00:00Z")  # fmt: skip

    write_batch(
        engine,
        [
            batch(
                said("@brand", "twitter", 30, "02-02"),
                said("@brand", "instagram", 10, "02-03"),
                said("@acme", "twitter", 20, "02-04"),
                said("@acme", "twitter", 100, "02-04", kind="like"),
                said("@acme", "twitter", 5000, "02-04", kind="impression"),
                said("@acme", "twitter", 50, "04-02"),  # after the period's end
                said("@bolt", "instagram", 30, "02-05"),
                message("message_received", "ours", "2026-02-06T10:00:00Z", account="@brand"),
                message("message_received", "theirs", "2026-02-06T11:00:00Z", account="@acme"),
            )
        ],
        UTC,
    )


def summary(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["summary", "--year", "2026", "--as-of", "2026-03-31", "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_competitors_added_after_their_events_leave_the_brands_figures(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    before = summary(capsys)
    # Mentions 30 + 10 + 20 + 30 and Acme's 100 likes, all counted as the brand's.
    assert before["brand"]["impressions"] == 5000 and before["brand"]["engagement"] == 190
    assert before["support"]["conversations"] == 2
    assert before["listening"]["share_of_voice"] == 1.0 and before["listening"]["mentions"] == 90
    assert (
        main(["competitors", "add", "--network", "x", "--account", "@acme", "--name", "Acme"]) == 0
    )
    with Session(engine) as session:
        competitors.create(session, network="instagram", account="@bolt", name="Bolt", actor="t")
    capsys.readouterr()
    after = summary(capsys)
    # The brand: 30 + 10 mentions, no impressions of its own; Acme's conversation is not ours.
    assert (after["brand"]["impressions"], after["brand"]["engagement"]) == (0, 40)
    assert after["support"]["conversations"] == 1
    assert after["listening"] == {
        "mentions": 40,
        "competitors": [
            {"name": "Bolt", "network": "instagram", "account": "@bolt", "mentions": 30},
            {"name": "Acme", "network": "twitter", "account": "@acme", "mentions": 20},
        ],
        "share_of_voice": 40 / (40 + 50),
        "networks": [
            {"network": "instagram", "mentions": 10, "competitor_mentions": 30,
             "share_of_voice": 0.25},
            {"network": "twitter", "mentions": 30, "competitor_mentions": 20,
             "share_of_voice": 0.6},
        ],
    }  # fmt: skip
    listed = listing(engine, Window(PERIOD.start_utc, PERIOD.end_utc))
    assert [row["conversation_id"] for row in listed] == ["ours"]
    assert main(["competitors", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Acme\ttwitter\t@acme", "Bolt\tinstagram\t@bolt"
    ]  # fmt: skip
    assert main(["competitors", "remove", "--network", "twitter", "--account", "@acme"]) == 0
    capsys.readouterr()
    again = summary(capsys)
    assert again["brand"]["impressions"] == 5000 and again["support"]["conversations"] == 2
    # Acme's 20 mentions are the brand's again; Bolt's 30 still a competitor's.
    assert again["listening"]["mentions"] == 60 and again["listening"]["share_of_voice"] == 60 / 90


def test_weekly_share_per_network(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        competitors.create(session, network="twitter", account="@acme", name="Acme", actor="t")
        competitors.create(session, network="instagram", account="@bolt", name="Bolt", actor="t")
    assert listening.weekly_share(engine, PERIOD) == [
        {"week": "2026-W06", "network": "instagram", "mentions": 10, "competitor_mentions": 30,
         "share_of_voice": 0.25},
        {"week": "2026-W06", "network": "twitter", "mentions": 30, "competitor_mentions": 20,
         "share_of_voice": 0.6},
    ]  # fmt: skip


def test_no_mentions_at_all_is_no_share(engine: Engine) -> None:
    found = listening.listening(engine, PERIOD)
    assert found == {"mentions": 0, "competitors": [], "share_of_voice": None, "networks": []}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(
            ["--network", "myspace", "--account", "@a", "--name", "A"], "network:", id="net"
        ),
        pytest.param(["--network", "x", "--account", " ", "--name", "A"], "account:", id="account"),
        pytest.param(["--network", "x", "--account", "@a", "--name", ""], "name:", id="name"),
    ],
)
def test_bad_competitors_are_refused_naming_the_field(
    cli_env: None, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main(["competitors", "add", *args]) == 2
    assert says in capsys.readouterr().out


def test_share_of_voice_goal_is_a_rate() -> None:
    assert goal_progress("share_of_voice", 0.5, 0.4, PERIOD)["pace"] == pytest.approx(0.8)
