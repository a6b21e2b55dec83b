"""The event validator: every rule of
docs/figures.md#interaction-event-one-schema-for-rest-grpc-and-kafka, with errors naming the field.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from rapport.ingest.v1 import ingest_pb2

from services.common.kafka import MAX_RECORD_BYTES
from services.ingest.consumer import decode
from services.ingest.events import Rejection, proto_to_dict, to_proto, validate, validate_all
from services.ingest.publisher import records
from tests.factories import event


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"event_id": ""}, "event_id", id="empty-id"),
        pytest.param({"event_id": "x" * 129}, "event_id", id="long-id"),
        pytest.param({"event_id": None}, "event_id", id="missing-id"),
        pytest.param({"occurred_at": "2026-03-02T10:15:00"}, "occurred_at", id="no-offset"),
        pytest.param({"occurred_at": "yesterday"}, "occurred_at", id="not-a-timestamp"),
        pytest.param({"occurred_at": 1700000000}, "occurred_at", id="epoch-number"),
        pytest.param({"network": "myspace"}, "network", id="bad-network"),
        pytest.param({"kind": "poke"}, "kind", id="bad-kind"),
        pytest.param({"count": -1}, "count", id="negative-count"),
        pytest.param({"count": "5"}, "count", id="count-as-string"),
        pytest.param({"count": 1.5}, "count", id="fractional-count"),
        pytest.param({"url": "javascript:alert(1)"}, "url", id="non-http-url"),
        pytest.param({"attributes": {"a": 1}}, "attributes", id="non-string-attribute"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"kind": "message_received"}, "conversation_id", id="message-without-conv"),
        pytest.param(
            {"kind": "conversation_resolved"}, "conversation_id", id="resolved-without-conv"
        ),
        pytest.param({"occurred_at": "1999-12-31T23:59:59Z"}, "occurred_at", id="before-2000"),
        pytest.param({"occurred_at": "8219-07-10T18:25:59Z"}, "occurred_at", id="far-future"),
        pytest.param({"actor": "bob\x00"}, "actor", id="nul-in-actor"),
        pytest.param({"attributes": {"k": "v\x00"}}, "attributes", id="nul-in-attribute"),
    ],
)
def test_invalid_events_are_rejected_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    result = validate(event(**overrides))
    assert isinstance(result, Rejection)
    assert field in result.error


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(None, id="all-valid"),
        pytest.param({"network": "myspace"}, id="one-breaks-a-field-rule"),
        pytest.param({"occurred_at": "1999-12-31T23:59:59Z"}, id="one-breaks-a-later-rule"),
    ],
)
def test_a_request_at_once_answers_as_each_event_alone(bad: dict[str, Any] | None) -> None:
    # Timestamps repeat (a parsed one is remembered), in another offset and case of network too.
    items: list[Any] = [
        event(event_id=f"e{n}", occurred_at=at, network=network)
        for n, (at, network) in enumerate(
            [
                ("2026-03-02T10:15:00Z", "x"),
                ("2026-03-02T11:15:00+01:00", " LinkedIn "),
                ("2026-03-02T10:15:00Z", "facebook"),
            ]
        )
    ]
    if bad is not None:
        items.insert(1, event(event_id="bad", **bad))
    assert validate_all(items) == [validate(dict(item)) for item in items]


def test_not_an_object() -> None:
    result = validate(["not", "an", "object"])
    assert isinstance(result, Rejection)
    assert result.reason == "not_an_object"


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        pytest.param({"network": "x"}, lambda e: e.network == "twitter", id="x-alias"),
        pytest.param({"network": " X "}, lambda e: e.network == "twitter", id="alias-any-case"),
        pytest.param({"network": "LinkedIn"}, lambda e: e.network == "linkedin", id="any-case"),
        pytest.param({"count": None}, lambda e: e.count == 1, id="count-defaults-to-1"),
        pytest.param({"account": None}, lambda e: e.account == "default", id="account-default"),
        pytest.param({"count": 0}, lambda e: e.HasField("count") and e.count == 0, id="zero"),
        pytest.param({"actor": None}, lambda e: e.actor == "", id="null-optional-field"),
        pytest.param(
            {"occurred_at": "2026-03-02T10:15:00.250+05:30"},
            lambda e: (
                (e.utc_offset_minutes, e.occurred_at.seconds, e.occurred_at.nanos)
                == (330, 1772426700, 250_000_000)
            ),
            id="offset-kept",
        ),
    ],
)
def test_valid_events(overrides: dict[str, Any], check: Any) -> None:
    result = validate(event(**overrides))
    assert not isinstance(result, Rejection), result
    assert check(to_proto(result))


def test_protobuf_round_trip_keeps_every_field() -> None:
    original = validate(
        event(
            occurred_at="2026-03-02T10:15:00.250-04:00",
            kind="message_sent",
            conversation_id="c-1",
            actor="@ana",
            post_id="p-1",
            url="https://x.com/brand/status/1",
            attributes={"campaign": "spring"},
            count=0,
        )
    )
    assert not isinstance(original, Rejection)
    message = to_proto(original)
    again = validate(proto_to_dict(message))
    assert not isinstance(again, Rejection)
    assert to_proto(again) == message


def test_a_foreign_record_with_nul_goes_to_the_dead_letters_not_the_database() -> None:
    # A NUL would fail every PostgreSQL write of its batch, forever; decode() sets it aside.
    accepted = validate(event())
    assert not isinstance(accepted, Rejection)
    message = to_proto(accepted)
    message.post_id = "p\x00"
    batch = ingest_pb2.InteractionBatch(ingested_at_us=1, events=[message])
    record = SimpleNamespace(topic="t", partition=0, offset=7, value=batch.SerializeToString())
    decoded = decode([record])
    assert decoded.batches == []
    letter = decoded.dead_letters[0]
    assert (letter["source"], letter["topic"], letter["offset"]) == ("consumer", "t", 7)
    assert "NUL" in letter["error"]
    assert base64.b64decode(letter["raw_b64"]) == record.value  # the record as it was


def test_dead_letters_have_one_format_and_fit_a_record() -> None:
    from services.common.kafka import MAX_RECORD_BYTES
    from services.ingest.dead_letters import encode, letter

    huge = letter(source="rest", reason="too_long", error="x", raw=b"y" * MAX_RECORD_BYTES)
    out = orjson.loads(encode(huge))
    assert len(encode(huge)) < MAX_RECORD_BYTES and out["truncated"] is True
    assert base64.b64decode(out["raw_b64"]) == b"y" * 10_000
    item = letter(source="grpc", reason="kind", error="x", item={"a": "b" * MAX_RECORD_BYTES})
    assert orjson.loads(encode(item))["item_head"].startswith('{"a":"bbb')
    small = orjson.loads(encode(letter(source="rest", reason="kind", error="e", item={}, index=3)))
    assert set(small) == {"source", "reason", "error", "rejected_at", "item", "index"}


@pytest.mark.parametrize(
    ("count", "attributes", "expected_records"),
    [
        pytest.param(2_500, {}, 2, id="2000-events-a-record"),
        # 40 events of ~52 KB (50 attributes of 1,000 characters): 2 MB, halved until each fits.
        pytest.param(40, {f"k{i}": "v" * 1000 for i in range(50)}, 4, id="split-by-size"),
    ],
)
def test_records_stay_under_the_broker_limit_and_keep_every_event(
    count: int, attributes: dict[str, str], expected_records: int
) -> None:
    accepted = [validate(event(attributes=attributes or None)) for _ in range(count)]
    out = list(records(accepted, source="test", ingested_at_us=1))  # type: ignore[arg-type]
    values = [value for value, _ in out]
    assert len(values) == expected_records
    assert sum(n for _, n in out) == count  # each record says how many events it holds
    assert all(len(value) <= MAX_RECORD_BYTES for value in values)
    ids = [e.event_id for v in values for e in ingest_pb2.InteractionBatch.FromString(v).events]
    assert ids == [item["event_id"] for item in accepted]  # type: ignore[index]
