"""Kind `rating`: validation naming `count` and `conversation_id`, and the facts the consumer
keeps per conversation (latest rating, its comment, the reopening), on both databases."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.domain.tables import SupportConversation
from services.ingest.events import Rejection, validate
from services.ingest.sink import write_batch
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")
TABLE = SupportConversation.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        pytest.param({"count": 0}, "count", id="zero"),
        pytest.param({"count": 6}, "count", id="six"),
        pytest.param({"count": None}, "count", id="missing"),
        pytest.param({"conversation_id": None}, "conversation_id", id="no-conversation"),
    ],
)
def test_bad_ratings_are_refused_naming_the_field(fields: dict[str, Any], named: str) -> None:
    data = event(kind="rating", conversation_id="c1", count=3) | fields
    result = validate({k: v for k, v in data.items() if v is not None})
    assert isinstance(result, Rejection)
    assert result.reason == named and named in result.error


@pytest.mark.parametrize("stars", [1, 5])
def test_ratings_on_the_scale_are_accepted(stars: int) -> None:
    assert not isinstance(
        validate(event(kind="rating", conversation_id="c", count=stars)), Rejection
    )


def facts(engine: Engine, conversation: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                TABLE.c.rating, TABLE.c.rating_comment, TABLE.c.reopened_at, TABLE.c.rated_at
            ).where(TABLE.c.conversation_id == conversation)
        ).one()
    return dict(row._mapping)


def test_the_latest_rating_and_the_reopening_are_kept(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                message("message_received", "c1", "2026-02-01T10:00:00Z"),
                message("conversation_resolved", "c1", "2026-02-01T11:00:00Z"),
                message("message_received", "c1", "2026-02-01T11:30:00Z"),
                event(
                    kind="rating",
                    conversation_id="c1",
                    count=2,
                    occurred_at="2026-02-01T12:00:00Z",
                    attributes={"comment": "late"},
                ),
            )
        ],
        UTC,
    )
    found = facts(engine, "c1")
    assert (found["rating"], found["rating_comment"]) == (2, "late")
    assert str(found["reopened_at"]).startswith("2026-02-01 11:30")
    # An earlier rating arriving later does not replace the latest one.
    write_batch(
        engine,
        [
            batch(
                event(
                    kind="rating", conversation_id="c1", count=5, occurred_at="2026-02-01T11:45:00Z"
                )
            )
        ],
        UTC,
    )
    assert facts(engine, "c1")["rating"] == 2
