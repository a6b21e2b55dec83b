"""GET /v1/conversations on SQLite and PostgreSQL: every filter, cursor pages, the CSV stream."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.domain.auth import Role, create_token
from services.domain.service_levels import make_schedule
from services.domain.stored_levels import save_schedule
from services.ingest.app import create_app
from services.ingest.sink import write_batch
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")
YEAR = {"year": 2026, "as_of": "2026-03-31"}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    events = []
    for n in range(30):
        cid = f"c{n:02d}"
        network = "email" if n % 3 == 0 else "twitter"
        account = "@help" if n % 2 else "@brand"
        at = f"2026-03-{2 + n // 10:02d}T{8 + n % 10:02d}:00:00Z"  # Mon-Wed, 08:00-17:00 UTC
        events.append(
            message("message_received", cid, at, network=network, account=account,
                    url=f"https://x.com/i/{cid}")
        )  # fmt: skip
        if n % 5 != 4:  # every fifth is never answered
            minutes = 30 if n % 2 else 90
            hour = int(at[11:13]) + minutes // 60
            answered = f"{at[:11]}{hour:02d}:{minutes % 60:02d}:00Z"
            agent = {"actor": "lucia" if n % 4 < 2 else "marco"} if n % 7 else {}
            events.append(
                message("message_sent", cid, answered, network=network, account=account, **agent)
            )
    write_batch(engine, [batch(*events)], UTC)
    with Session(engine) as session:
        save_schedule(
            session,
            account=None,
            schedule=make_schedule(timezone="UTC", hours="mon-fri 09:00-17:00"),
            actor="test",
        )
        viewer = create_token(session, name="reader", role=Role.viewer)
    with TestClient(create_app(settings, engine=engine)) as c:
        c.headers["Authorization"] = f"Bearer {viewer}"
        yield c


def pages(client: TestClient, **params: object) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cursor = None
    while True:
        query = {**YEAR, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/conversations", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def test_needs_a_token(client: TestClient) -> None:
    assert client.get("/v1/conversations", headers={"Authorization": ""}).status_code == 401
    assert (
        client.get("/v1/conversations", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_cursor_pages_cover_every_conversation_once_in_order(client: TestClient) -> None:
    rows = pages(client, limit=7)
    assert [r["conversation_id"] for r in rows] == [f"c{n:02d}" for n in range(30)]
    first = rows[0]
    assert set(first) == {
        "network", "conversation_id", "account", "agent", "url", "first_inbound_at",
        "first_response_s", "first_response_business_s", "resolution_s", "sla_met",
        "rating", "reopened", "comment",
    }  # fmt: skip
    # c00: received Monday 08:00 UTC (closed), answered 09:30: 90 calendar minutes, 30 business.
    assert first["first_response_s"] == 5400 and first["first_response_business_s"] == 1800
    assert first["sla_met"] is True and first["agent"] == "unassigned"  # it named nobody
    assert rows[1]["agent"] == "lucia" and rows[2]["agent"] == "marco"
    assert first["first_inbound_at"] == "2026-03-02T08:00:00+00:00"
    unanswered = rows[4]
    assert unanswered["first_response_s"] is None and unanswered["sla_met"] is False
    assert unanswered["agent"] == "unassigned"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"network": "email"}, {f"c{n:02d}" for n in range(0, 30, 3)}, id="network"),
        pytest.param({"account": "@help"}, {f"c{n:02d}" for n in range(1, 30, 2)}, id="account"),
        pytest.param(
            {"agent": "marco"},
            {f"c{n:02d}" for n in range(30) if n % 5 != 4 and n % 7 and n % 4 >= 2},
            id="agent",
        ),
        pytest.param(
            {"agent": "unassigned"},
            {f"c{n:02d}" for n in range(30) if n % 5 == 4 or n % 7 == 0},
            id="unassigned",
        ),
        pytest.param({"sla": "breached"}, "breached", id="sla-breached"),
        # The conversations behind each support figure.
        pytest.param(
            {"only": "answered"}, {f"c{n:02d}" for n in range(30) if n % 5 != 4}, id="answered"
        ),
        pytest.param(
            {"only": "unanswered"}, {f"c{n:02d}" for n in range(30) if n % 5 == 4}, id="unanswered"
        ),
        pytest.param(
            {"only": "within_1h"},
            {f"c{n:02d}" for n in range(30) if n % 5 != 4 and n % 2},
            id="within-1h",
        ),
        pytest.param({"only": "resolved"}, set(), id="resolved"),
        pytest.param({"only": "social"}, {f"c{n:02d}" for n in range(30) if n % 3}, id="social"),
        pytest.param(
            {"only": "email", "agent": "lucia"},
            {f"c{n:02d}" for n in range(0, 30, 3) if n % 5 != 4 and n % 7 and n % 4 < 2},
            id="email-and-agent",
        ),
        pytest.param(
            {"only": "answered", "as_of": "2026-03-02"},
            {f"c{n:02d}" for n in range(10) if n % 5 != 4},
            id="answered-as-of",
        ),
        pytest.param({"as_of": "2026-03-02"}, {f"c{n:02d}" for n in range(10)}, id="as-of"),
        pytest.param({"year": 2025, "as_of": "2025-12-31"}, set(), id="another-year"),
    ],
)
def test_each_filter(client: TestClient, params: dict[str, object], expected: object) -> None:
    rows = pages(client, limit=4, **params)
    found = {str(r["conversation_id"]) for r in rows}
    if expected == "breached":
        assert found and all(r["sla_met"] is False for r in rows)
        everything = pages(client)
        assert found == {str(r["conversation_id"]) for r in everything if not r["sla_met"]}
    else:
        assert found == expected


def test_bad_filters_and_cursors_are_refused_by_name(client: TestClient) -> None:
    for params, fragment in (
        ({"sla": "sometimes"}, "sla"),
        ({"only": "happy"}, "only"),
        ([("agent", "ana"), ("agent", "bo")], "given more than once"),
        ({"network": "myspace"}, "network"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"year": 2026, "as_of": "2025-01-01"}, "as-of"),
    ):
        response = client.get("/v1/conversations", params=params)
        assert response.status_code == 422, (params, response.text)
        assert fragment in response.text


def test_csv_streams_every_row(client: TestClient) -> None:
    response = client.get("/v1/conversations", params={**YEAR, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["conversation_id"] for r in rows] == [f"c{n:02d}" for n in range(30)]
    assert rows[0]["first_response_business_s"] == "1800.0" and rows[0]["sla_met"] == "yes"


def test_ratings_and_reopenings_as_columns_and_filters(client: TestClient, engine: Engine) -> None:
    def rated(cid: str, stars: int, at: str, **extra: object) -> dict[str, object]:
        return event(kind="rating", conversation_id=cid, count=stars, occurred_at=at, **extra)

    write_batch(
        engine,
        [
            batch(
                rated("c01", 2, "2026-03-05T10:00:00Z", attributes={"comment": "<b>=1+1</b>"}),
                rated("c02", 5, "2026-03-05T10:00:00Z", attributes={"comment": "=1+1"}),
                rated("c05", 1, "2026-04-05T10:00:00Z"),  # after as_of: not yet rated
                message("conversation_resolved", "c04", "2026-03-05T10:00:00Z"),
                message("message_received", "c04", "2026-03-06T10:00:00Z"),
                # Resolved, then no customer message: not reopened.
                message("conversation_resolved", "c06", "2026-03-05T10:00:00Z"),
            )
        ],
        UTC,
    )
    rows = {row["conversation_id"]: row for row in pages(client)}
    assert (rows["c01"]["rating"], rows["c01"]["comment"]) == (2, "<b>=1+1</b>")
    assert (rows["c02"]["rating"], rows["c05"]["rating"], rows["c03"]["rating"]) == (5, None, None)
    assert [r["conversation_id"] for r in pages(client, rating="low")] == ["c01"]
    assert [r["conversation_id"] for r in pages(client, reopened="true")] == ["c04"]
    assert rows["c04"]["reopened"] and not rows["c06"]["reopened"]
    # The CSV neutralises what a spreadsheet would run; the comment arrives as written.
    response = client.get("/v1/conversations", params={**YEAR, "format": "csv"})
    found = {r["conversation_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert (found["c01"]["rating"], found["c01"]["comment"]) == ("2", "<b>=1+1</b>")
    assert (found["c02"]["comment"], found["c04"]["reopened"]) == ("'=1+1", "yes")
    refused = client.get("/v1/conversations", params={**YEAR, "rating": "high"})
    assert refused.status_code == 422 and "rating" in refused.text
