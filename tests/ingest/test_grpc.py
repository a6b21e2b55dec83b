"""gRPC Publish and PublishStream, health and reflection, against the real broker and consumer."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from fastapi.testclient import TestClient
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from rapport.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from tests.ingest.helpers import event_count, running_consumer, scalar, wait_until

METADATA = (("authorization", "Bearer test-admin-token"),)


@pytest.fixture
def channel(settings: Settings, engine: Engine) -> Iterator[grpc.Channel]:
    app = create_app(settings, engine=engine)
    with TestClient(app), grpc.insecure_channel(f"127.0.0.1:{app.state.grpc_port}") as ch:
        yield ch


def interaction(event_id: str, **fields: object) -> ingest_pb2.Interaction:
    ts = Timestamp()
    ts.FromJsonString("2026-04-01T12:00:00Z")
    values: dict[str, object] = {"network": "instagram", "kind": "comment", **fields}
    return ingest_pb2.Interaction(event_id=event_id, occurred_at=ts, **values)


def test_publish_round_trip(channel: grpc.Channel, settings: Settings, engine: Engine) -> None:
    stub = ingest_pb2_grpc.IngestServiceStub(channel)
    request = ingest_pb2.PublishRequest(
        events=[
            interaction("g-1", count=4),
            interaction("g-2"),  # count absent: defaults to 1
            interaction("g-bad", network="myspace"),
        ]
    )
    response = stub.Publish(request, metadata=METADATA)
    assert response.accepted == 2
    assert [(r.index, r.error.split(":")[0]) for r in response.rejected] == [(2, "network")]
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 2, what="two gRPC events")
    assert scalar(engine, "SELECT SUM(count) FROM rollup_daily WHERE kind = 'comment'") == 5


def test_publish_stream_indexes_across_the_stream(
    channel: grpc.Channel, settings: Settings, engine: Engine
) -> None:
    stub = ingest_pb2_grpc.IngestServiceStub(channel)

    def requests() -> Iterator[ingest_pb2.PublishRequest]:
        for chunk in range(5):
            events = [interaction(f"s-{chunk}-{i}") for i in range(200)]
            if chunk == 3:
                events[10] = interaction("s-bad", kind="message_sent")  # no conversation_id
            yield ingest_pb2.PublishRequest(events=events)

    response = stub.PublishStream(requests(), metadata=METADATA)
    assert response.accepted == 999
    assert [r.index for r in response.rejected] == [3 * 200 + 10]
    assert "conversation_id" in response.rejected[0].error
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 999, what="999 streamed events")


def test_unauthenticated_calls_are_refused(channel: grpc.Channel) -> None:
    stub = ingest_pb2_grpc.IngestServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Publish(ingest_pb2.PublishRequest(events=[interaction("x")]))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service="rapport.ingest.v1.IngestService"))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    [reply] = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for s in reply.list_services_response.service}
    assert "rapport.ingest.v1.IngestService" in names


def test_publish_carries_value_and_currency(
    channel: grpc.Channel, settings: Settings, engine: Engine
) -> None:
    """The proto's value and currency (strings) go through the same validator as REST."""
    stub = ingest_pb2_grpc.IngestServiceStub(channel)
    request = ingest_pb2.PublishRequest(
        events=[
            interaction("g-sale", kind="conversion", value="49.90", currency="GBP"),
            interaction("g-bad", kind="conversion", value="49.90", currency="gbp"),
            interaction("g-like", kind="like", value="1", currency="GBP"),
        ]
    )
    response = stub.Publish(request, metadata=METADATA)
    assert response.accepted == 1
    assert [(r.index, r.error.split(":")[0]) for r in response.rejected] == [
        (1, "currency"),
        (2, "value"),
    ]
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 1, what="the gRPC sale")
    assert scalar(engine, "SELECT value_e4 FROM interaction_event WHERE currency = 'GBP'") == 499000
