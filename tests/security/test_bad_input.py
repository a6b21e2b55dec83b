"""Property tests: no input makes the validator or an import parser crash or import silently."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapport.ingest.v1 import ingest_pb2

from services.domain.vocabulary import Network
from services.ingest.events import Rejection, validate
from services.ingest.importers.base import Context, FileProblem
from services.ingest.importers.sources import SOURCES

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "event_id",
    "occurred_at",
    "network",
    "kind",
    "count",
    "account",
    "actor",
    "conversation_id",
    "post_id",
    "url",
    "attributes",
    "colour",
]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=12) | json_values)
def test_validator_never_crashes_and_names_a_field(item: Any) -> None:
    result = validate(item)
    if isinstance(result, Rejection):
        assert result.error and result.reason
        assert ":" in result.error  # "field: problem"
    else:  # an accepted event builds the Kafka record field for field, as it was sent
        assert isinstance(item, dict)
        record = ingest_pb2.Interaction(**result)
        assert record.event_id == item["event_id"]
        assert record.network in {n.value for n in Network}
        assert record.count == item.get("count", 1) >= 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(sorted(SOURCES)), data=st.binary(max_size=2000))
def test_parsers_survive_random_bytes(source: str, data: bytes) -> None:
    parse_everything(source, data)


header_rows = {
    "x_tweet_activity": '"Tweet id","time","impressions","likes"\n',
    "linkedin_content": "Date,Impressions (total),Clicks (total)\n",
    "instagram_posts": "Post ID,Publish time,Views,Likes\n",
    "twcs": (
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    ),
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(sorted(header_rows)),
    body=st.text(alphabet=st.characters(codec="utf-8"), max_size=1500),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_parsers_report_rows_for_garbage_under_a_real_header(
    source: str, body: str, delimiter: str
) -> None:
    header = (
        header_rows[source].replace(",", delimiter) if delimiter != "," else header_rows[source]
    )
    parse_everything(source, (header + body).encode("utf-8"))


def parse_everything(source: str, data: bytes) -> None:
    """Every row ends up as events or as an error naming the row; nothing else may happen, and
    the same bytes give the same event ids (a re-import never double-counts)."""
    try:
        ids = []
        for parsed in SOURCES[source](lambda: io.BytesIO(data), Context()):
            assert parsed.row >= 2
            if parsed.error is not None:
                assert parsed.error.row == parsed.row and parsed.error.error
            for event in parsed.events:
                result = validate(event)
                if isinstance(result, Rejection):  # dead-lettered with the field named
                    assert ":" in result.error, result.error
                ids.append(event.get("event_id"))
        again = [
            event.get("event_id")
            for parsed in SOURCES[source](lambda: io.BytesIO(data), Context())
            for event in parsed.events
        ]
        assert again == ids
    except FileProblem as problem:
        assert str(problem)


def test_huge_field_and_wide_line_are_reported_not_crashed() -> None:
    wide = ("a," * 1_000_000).encode()
    parse_everything("linkedin_content", b"Date,Impressions (total)\n" + wide + b"\n")
    huge = (
        b'"Tweet id","time","impressions"\n"1","2019-01-01 10:00 +0000","'
        + b"9" * 2_000_000
        + b'"\n'
    )
    try:
        list(SOURCES["x_tweet_activity"](lambda: io.BytesIO(huge), Context()))
    except FileProblem as problem:
        assert "row 2" in str(problem)


def test_slow_body_is_cut_off_with_408(settings: Any, engine: Any) -> None:
    import socket
    import threading
    import time

    import uvicorn

    from services.common import processes
    from services.ingest.app import create_app

    app = create_app(settings.model_copy(update={"ingest_body_timeout_s": 1.0}), engine=engine)
    port = processes.free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    processes.wait_for_port(port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/interactions HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer test-admin-token\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"
            )
            started = time.monotonic()
            answer = sock.recv(4096)
            assert b" 408 " in answer.split(b"\r\n")[0]
            assert time.monotonic() - started < 5
    finally:
        server.should_exit = True


def test_deeply_nested_json_is_a_clear_400(settings: Any, engine: Any) -> None:
    from fastapi.testclient import TestClient

    from services.ingest.app import create_app

    nested = b"[" * 100_000 + b"]" * 100_000
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.post(
            "/v1/interactions",
            content=nested,
            headers={
                "Authorization": "Bearer test-admin-token",
                "Content-Type": "application/json",
            },
        )
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["detail"]
