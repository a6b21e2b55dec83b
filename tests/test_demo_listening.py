"""`rapport demo`'s ratings and competitors: a realistic share rated, every event valid, the
competitors stored (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy.engine import Engine

from services import demo, demo_listening
from services.domain import competitors
from services.ingest.events import Rejection, validate

UNTIL = dt.datetime(2026, 7, 1)


def test_a_third_of_resolved_conversations_are_rated_mostly_well() -> None:
    events = list(demo.generate(2026, UNTIL))
    ratings = [e for e in events if e["kind"] == "rating"]
    resolved = [e for e in events if e["kind"] == "conversation_resolved"]
    assert 0.25 < len(ratings) / len(resolved) < 0.45
    stars = Counter(e["count"] for e in ratings)
    assert set(stars) == {1, 2, 3, 4, 5} and stars[4] + stars[5] > 0.6 * len(ratings)
    assert all(not isinstance(validate(e), Rejection) for e in ratings)
    # The rest of the year is unchanged by the ratings (their own random stream).
    assert [e for e in events if e["kind"] != "rating"] == [
        e for e in demo.generate(2026, UNTIL) if e["kind"] != "rating"
    ]


def test_two_competitors_with_mentions_every_day(engine: Engine) -> None:
    mentions = list(demo_listening.competitor_mentions(2026, UNTIL))
    assert len(mentions) == 2 * 181
    assert all(not isinstance(validate(e), Rejection) and e["count"] > 0 for e in mentions)
    demo_listening.add_competitors(engine)
    demo_listening.add_competitors(engine)  # a second demo run changes nothing
    assert [(c["name"], c["account"]) for c in competitors.get_all(engine)] == [
        ("Contoso", "@contoso_social"),
        ("Northwind", "@northwind"),
    ]
