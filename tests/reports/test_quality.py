"""Response quality figures (docs/figures.md#response-quality-and-share-of-voice) against
hand-worked values, on SQLite and PostgreSQL: the latest rating wins, ratings after the
period's end are ignored (an earlier one counts), reopenings after the resolution, agents."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from services.domain.conversation_levels import Window, listing
from services.domain.period import Period
from services.ingest.sink import write_batch
from services.reports import queries
from services.reports.figures import goal_progress
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")


def rating(conversation: str, at: str, stars: int, **overrides: Any) -> dict[str, Any]:
    return event(
        kind="rating", conversation_id=conversation, occurred_at=at, count=stars, **overrides
    )


def answered(
    conversation: str, day: str, agent: str, *, reopened_on: str | None = None
) -> list[dict[str, Any]]:
    """Received at 10:00, answered at 10:30 by `agent`, resolved at 12:00 on `day`."""
    rows = [
        message("message_received", conversation, f"{day}T10:00:00Z"),
        message("message_sent", conversation, f"{day}T10:30:00Z", actor=agent),
        message("conversation_resolved", conversation, f"{day}T12:00:00Z"),
    ]
    if reopened_on:
        rows.append(message("message_received", conversation, f"{reopened_on}T09:00:00Z"))
    return rows


def seed(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                *answered("a", "2026-02-01", "lucia"),
                rating("a", "2026-02-01T13:00:00Z", 2),
                rating("a", "2026-02-02T08:00:00Z", 5, attributes={"comment": "great"}),
                *answered("b", "2026-02-03", "lucia", reopened_on="2026-02-04"),
                rating("b", "2026-02-04T10:00:00Z", 1, attributes={"comment": "<b>no</b>"}),
                # Rated 4 in the period, 1 after its end: as of 31 March it is a 4.
                *answered("c", "2026-02-05", "marco"),
                rating("c", "2026-03-10T10:00:00Z", 4),
                rating("c", "2026-04-05T10:00:00Z", 1),
                # Reopened and rated only after the end.
                *answered("d", "2026-02-06", "marco", reopened_on="2026-04-02"),
                rating("d", "2026-04-03T10:00:00Z", 3),
                # Never answered, still rated; no agent row.
                message("message_received", "e", "2026-02-07T10:00:00Z"),
                rating("e", "2026-02-08T10:00:00Z", 5),
                # Began last year: not one of the period's conversations.
                message("message_received", "f", "2025-12-30T10:00:00Z"),
                rating("f", "2026-01-02T10:00:00Z", 5),
                # Two customer messages before the resolution: not reopened.
                message("message_received", "g", "2026-02-09T10:00:00Z"),
                message("message_received", "g", "2026-02-09T10:05:00Z"),
                message("message_sent", "g", "2026-02-09T10:20:00Z", actor="lucia"),
                message("conversation_resolved", "g", "2026-02-09T11:00:00Z"),
            )
        ],
        UTC,
    )


def quality_of(support: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "csat_responses",
        "csat",
        "csat_average",
        "csat_response_rate",
        "reopened",
        "reopen_rate",
    )
    return {key: support[key] for key in keys}


def agents_of(support: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {row["agent"]: (row["csat"], row["csat_responses"]) for row in support["agents"]}


def test_quality_figures_as_of_the_periods_end(engine: Engine) -> None:
    seed(engine)
    support = queries.support(engine, Period.of(2026, dt.date(2026, 3, 31), UTC))
    # Period: a, b, c, d, e, g (f began last year); resolved: a, b, c, d, g.
    # Ratings as of 31 March: a 5 (latest of 2, 5), b 1, c 4 (its 1 came later), e 5.
    assert support["conversations"] == 6
    assert quality_of(support) == {
        "csat_responses": 4,
        "csat": 3 / 4,
        "csat_average": (5 + 1 + 4 + 5) / 4,
        "csat_response_rate": 4 / 5,
        "reopened": 1,  # b; d only in April
        "reopen_rate": 1 / 5,
    }
    # lucia answered a (5), b (1) and g (unrated); marco c (4) and d (unrated as of March).
    assert agents_of(support) == {"lucia": (1 / 2, 2), "marco": (1.0, 1)}


def test_later_ratings_and_reopenings_count_once_the_period_reaches_them(engine: Engine) -> None:
    seed(engine)
    support = queries.support(engine, Period.of(2026, dt.date(2026, 4, 30), UTC))
    # As of 30 April: a 5, b 1, c 1, d 3, e 5.
    assert quality_of(support) == {
        "csat_responses": 5,
        "csat": 2 / 5,
        "csat_average": (5 + 1 + 1 + 3 + 5) / 5,
        "csat_response_rate": 5 / 5,
        "reopened": 2,
        "reopen_rate": 2 / 5,
    }
    assert agents_of(support) == {"lucia": (1 / 2, 2), "marco": (0.0, 2)}


def test_answering_again_replaces_the_rating(engine: Engine) -> None:
    write_batch(engine, [batch(*answered("a", "2026-02-01", "lucia"))], UTC)
    first = rating("a", "2026-02-01T13:00:00Z", 1, event_id="survey:twitter:a")
    again = rating("a", "2026-02-01T14:00:00Z", 4, event_id="survey:twitter:a")
    write_batch(engine, [batch(first, ingested_at_us=1_000)], UTC)
    write_batch(engine, [batch(again, ingested_at_us=2_000)], UTC)
    support = queries.support(engine, Period.of(2026, dt.date(2026, 3, 31), UTC))
    assert (support["csat_responses"], support["csat"], support["csat_average"]) == (1, 1.0, 4.0)


def test_the_comment_shown_is_the_one_of_the_rating_counted(engine: Engine) -> None:
    """A manager reads a rating and its comment together: the latest answer wins whole, so a
    later answer without a comment shows none, and as of an end before it the earlier answer
    shows with its own comment (never the other answer's)."""
    write_batch(
        engine,
        [
            batch(
                *answered("a", "2026-02-01", "lucia"),
                rating("a", "2026-02-01T13:00:00Z", 2, event_id="chatwoot:csat:1:a",
                       attributes={"comment": "  slow  "}),
                rating("a", "2026-04-02T09:00:00Z", 5, event_id="survey:twitter:a"),
                *answered("b", "2026-02-02", "lucia"),
                rating("b", "2026-02-02T13:00:00Z", 1, event_id="chatwoot:csat:1:b"),
                rating("b", "2026-04-03T09:00:00Z", 4, event_id="survey:twitter:b",
                       attributes={"comment": "better now"}),
            )
        ],
        UTC,
    )  # fmt: skip

    def shown(as_of: dt.date) -> dict[str, tuple[Any, Any]]:
        end = Period.of(2026, as_of, UTC)
        window = Window(start=end.start_utc, end=end.end_utc)
        return {r["conversation_id"]: (r["rating"], r["comment"]) for r in listing(engine, window)}

    assert shown(dt.date(2026, 3, 31)) == {"a": (2, "slow"), "b": (1, None)}
    assert shown(dt.date(2026, 4, 30)) == {"a": (5, None), "b": (4, "better now")}


@pytest.mark.parametrize("as_of", [dt.date(2026, 3, 31)])
def test_no_ratings_no_resolutions_gives_nulls(engine: Engine, as_of: dt.date) -> None:
    write_batch(engine, [batch(message("message_received", "z", "2026-02-01T10:00:00Z"))], UTC)
    support = queries.support(engine, Period.of(2026, as_of, UTC))
    assert quality_of(support) == {
        "csat_responses": 0,
        "csat": None,
        "csat_average": None,
        "csat_response_rate": None,
        "reopened": 0,
        "reopen_rate": None,
    }


@pytest.mark.parametrize(
    ("metric", "target", "actual", "pace"),
    [
        pytest.param("reopen_rate", 0.1, 0.2, 0.5, id="reopened-twice-the-target"),
        pytest.param("reopen_rate", 0.1, 0.05, 2.0, id="reopened-half-the-target"),
        pytest.param("reopen_rate", 0.1, 0.0, 100.0, id="none-reopened"),
        pytest.param("csat", 0.8, 0.6, 0.75, id="csat-a-rate"),
    ],
)
def test_goal_pace(metric: str, target: float, actual: float, pace: float) -> None:
    period = Period.of(2026, dt.date(2026, 3, 31), UTC)
    found = goal_progress(metric, target, actual, period)
    assert found["pace"] == pytest.approx(pace) and found["projected_year_end"] is None


@pytest.mark.parametrize(("language", "isolated"), [("fa", True), ("ar", True), ("fi", False)])
def test_the_report_card_names_each_competitor_in_its_own_order(
    language: str, isolated: bool
) -> None:
    """Right to left, each competitor's typed name is isolated from the count after it, so the
    first competitor is read first; left to right the text is as it was."""
    from services.common.i18n import speaker
    from services.reports.quality import report_cards

    support = {"csat": 0.8, "csat_average": 4.1, "csat_responses": 10, "csat_response_rate": 0.5,
               "reopened": 1, "reopen_rate": 0.1}  # fmt: skip
    rivals = [{"name": "Northwind", "mentions": 20}, {"name": "Contoso", "mentions": 10}]
    heard = {"share_of_voice": 0.5, "mentions": 30, "competitors": rivals}
    sp = speaker(language)
    [_quality, (_title, _share, text)] = report_cards({"support": support, "listening": heard}, sp)
    pair = f"Northwind {sp.number(20)} · Contoso {sp.number(10)}"
    if isolated:
        pair = f"\u2068Northwind\u2069 {sp.number(20)} · \u2068Contoso\u2069 {sp.number(10)}"
    assert text.endswith(pair), text
