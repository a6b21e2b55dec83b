"""The demo's response quality and share of voice (used by services/demo.py): ratings on a
realistic share of its resolved conversations, and two competitors with their mentions."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.domain import competitors

# (name, network, account, mentions a day at the start of the year, yearly growth)
COMPETITORS = (
    ("Northwind", "twitter", "@northwind", 30, 0.10),
    ("Contoso", "twitter", "@contoso_social", 18, 0.40),
)
# About a third of customers answer a satisfaction survey; most of those who do are content.
ANSWERED = 0.35
RATING_WEIGHTS = (0.05, 0.06, 0.11, 0.33, 0.45)  # for 1, 2, 3, 4, 5
COMMENTS = {
    1: "Took days and I had to repeat myself twice.",
    2: "Solved in the end, but slow.",
    4: "Quick and friendly, thanks.",
    5: "Lucía sorted it in minutes. Great service!",
}


def rating(common: dict[str, Any], resolved: dt.datetime) -> dict[str, Any] | None:
    """The survey answer of one resolved conversation, or None (most never answer). Its own
    random stream per conversation: the rest of the demo year stays as it was."""
    rng = random.Random(f"{common['conversation_id']}:rating")
    if rng.random() > ANSWERED:
        return None
    stars = rng.choices(range(1, 6), RATING_WEIGHTS)[0]
    event: dict[str, Any] = {
        "event_id": f"survey:{common['network']}:{common['conversation_id']}",
        "kind": "rating",
        "count": stars,
        "occurred_at": _iso(resolved + dt.timedelta(minutes=rng.randint(10, 600))),
        "network": common["network"],
        "account": common["account"],
        "conversation_id": common["conversation_id"],
    }
    if stars in COMMENTS and rng.random() < 0.3:
        event["attributes"] = {"comment": COMMENTS[stars]}
    return event


def competitor_mentions(year: int, until: dt.datetime, seed: int = 17) -> Iterator[dict[str, Any]]:
    """A day's mentions of each competitor up to `until` (naive UTC, as the demo's), as a
    listening tool would send them."""
    rng = random.Random(seed)
    day = dt.datetime(year, 1, 1, 12)
    end = min(until, dt.datetime(year + 1, 1, 1))
    while day < end:
        progress = (day.timetuple().tm_yday - 1) / 365
        for _name, network, account, base, growth in COMPETITORS:
            count = int(base * (1 + growth * progress) * rng.uniform(0.6, 1.5))
            yield {
                "event_id": f"demo:mention:{account}:{day:%Y%m%d}",
                "kind": "mention",
                "count": count,
                "occurred_at": _iso(day),
                "network": network,
                "account": account,
            }
        day += dt.timedelta(days=1)


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_competitors(engine: Engine) -> None:
    with Session(engine) as session:
        for name, network, account, _base, _growth in COMPETITORS:
            competitors.create(session, network=network, account=account, name=name, actor="demo")
