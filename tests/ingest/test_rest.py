"""POST /v1/interactions through the real broker and consumer into SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from tests.factories import event
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def dead_letters(settings: Settings, expected: int) -> list[dict[str, object]]:
    consumer = KafkaConsumer(
        settings.kafka_dlq_topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    letters = []
    for record in consumer:
        letters.append(orjson.loads(record.value))
        if len(letters) >= expected:
            break
    consumer.close()
    return letters


def test_batch_reaches_the_database_with_rollups(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    events = [event(kind="impression", count=10) for _ in range(500)] + [
        event(kind="like", count=2) for _ in range(250)
    ]
    response = client.post("/v1/interactions", json=events, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 750, "rejected": []}
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 750, what="750 events in the database")
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily WHERE kind = 'impression'") == 5000
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily WHERE kind = 'like'") == 500


def test_ndjson_with_partial_acceptance_and_dead_letters(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    lines = [
        orjson.dumps(event(event_id="good-1")),
        b'{"event_id": "broken", ',
        orjson.dumps(event(event_id="bad-kind", kind="poke")),
        b"",
        orjson.dumps(event(event_id="good-2")),
    ]
    response = client.post(
        "/v1/interactions",
        content=b"\n".join(lines),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert "malformed JSON" in body["rejected"][0]["error"]
    assert body["rejected"][1]["error"].startswith("kind:")
    letters = {letter["index"]: letter for letter in dead_letters(settings, 2)}
    assert sorted(letters) == [1, 2]
    # The line that is not JSON is kept as the bytes sent, with the parse error as the reason.
    broken = letters[1]
    assert base64.b64decode(str(broken["raw_b64"])) == b'{"event_id": "broken", '
    assert broken["reason"] == "malformed_json" and "malformed JSON" in str(broken["error"])
    assert "item" not in broken
    # The event that broke a rule is kept as parsed, with the field named.
    bad_kind = letters[2]
    assert bad_kind["item"] == orjson.loads(lines[2])
    assert str(bad_kind["error"]).startswith("kind:") and bad_kind["source"] == "rest"
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 2, what="the two valid events")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        pytest.param(b"[{", "application/json", 400, "Malformed JSON", id="malformed"),
        pytest.param(b"", "application/json", 400, "Empty body", id="empty"),
        pytest.param(b'"hello"', "application/json", 400, "JSON array", id="scalar"),
        pytest.param(
            b"[" + b"1," * 60_000 + b"1]", "application/json", 413, "limit", id="too-many-events"
        ),
    ],
)
def test_bad_bodies_get_a_clear_4xx(
    client: TestClient, body: bytes, content_type: str, status: int, fragment: str
) -> None:
    response = client.post(
        "/v1/interactions", content=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_oversized_body_is_refused(settings: Settings, engine: Engine) -> None:
    small = settings.model_copy(update={"ingest_max_body_bytes": 2048})
    with TestClient(create_app(small, engine=engine)) as c:
        response = c.post("/v1/interactions", json=[event() for _ in range(100)], headers=AUTH)
    assert response.status_code == 413
    assert response.json()["detail"].endswith("bytes; the limit is 2048 bytes.")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("POST", "/v1/interactions", 202, id="batch"),
        pytest.param("GET", "/v1/conversations", 413, id="conversations"),
        pytest.param("GET", "/readyz", 413, id="readyz"),
        pytest.param("GET", "/metrics", 413, id="metrics"),
    ],
)
def test_routes_without_a_batch_take_small_bodies_only(
    client: TestClient, method: str, path: str, status: int
) -> None:
    body = orjson.dumps([event(attributes={"pad": "x" * 1000}) for _ in range(100)])  # ~120 KB
    response = client.request(
        method, path, content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"Authorization": "Bearer wrong"}, 401, id="wrong-token"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, 401, id="not-bearer"),
    ],
)
def test_writes_need_a_token(client: TestClient, headers: dict[str, str], status: int) -> None:
    response = client.post("/v1/interactions", json=[event()], headers=headers)
    assert response.status_code == status


def test_viewer_and_revoked_tokens_are_refused(client: TestClient, engine: Engine) -> None:
    from sqlmodel import Session

    from services.domain.auth import Role, create_token, revoke_token

    with Session(engine) as session:
        viewer = create_token(session, name="viewer", role=Role.viewer)
        manager = create_token(session, name="manager", role=Role.manager)
    assert (
        client.post(
            "/v1/interactions", json=[], headers={"Authorization": f"Bearer {viewer}"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/interactions", json=[], headers={"Authorization": f"Bearer {manager}"}
        ).status_code
        == 202
    )
    with Session(engine) as session:
        revoke_token(session, name="manager")
    assert (
        client.post(
            "/v1/interactions", json=[], headers={"Authorization": f"Bearer {manager}"}
        ).status_code
        == 401
    )


def test_health_readiness_metrics_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    client.post("/v1/interactions", json=[event(kind="poke")], headers=AUTH)
    metrics = client.get("/metrics").text
    assert 'rapport_ingest_events_rejected_total{reason="kind",transport="rest"}' in metrics
    assert "/v1/interactions" in client.get("/openapi.json").json()["paths"]


def test_conversions_with_exact_values_reach_the_database(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    """JSON numbers and strings both arrive exact; a bad value is refused naming the field."""
    sales = [
        event(event_id="s1", kind="conversion", value=0.1, currency="USD"),
        event(event_id="s2", kind="conversion", value="0.2", currency="USD"),
        event(event_id="s3", kind="lead", value=1.23456, currency="USD"),
    ]
    response = client.post("/v1/interactions", json=sales, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "accepted": 2,
        "rejected": [{"index": 2, "error": "value: at most 4 decimal places"}],
    }
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 2, what="2 conversions in the database")
    assert scalar(engine, "SELECT SUM(value_e4) FROM interaction_event") == 3000
