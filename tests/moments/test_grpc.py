"""gRPC MomentsService: log, get, list, with auth and field-named validation errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import grpc
import pytest
from fastapi.testclient import TestClient
from rapport.moments.v1 import moments_pb2, moments_pb2_grpc

METADATA = (("authorization", "Bearer test-admin-token"),)


@pytest.fixture
def stub(app_client: TestClient) -> Iterator[moments_pb2_grpc.MomentsServiceStub]:
    port = app_client.app.state.grpc_port  # type: ignore[attr-defined]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield moments_pb2_grpc.MomentsServiceStub(channel)


def test_log_get_list(stub: moments_pb2_grpc.MomentsServiceStub) -> None:
    logged = stub.LogMoment(
        moments_pb2.LogMomentRequest(
            moment=moments_pb2.Moment(
                occurred_on=dt.date.today().isoformat(),
                network="linkedin",
                link="https://www.linkedin.com/feed/update/1",
                people=["Kim Lee"],
                change="Introduced us to her CTO.",
                outcome="referral",
            )
        ),
        metadata=METADATA,
    )
    assert logged.id and logged.logged_by == "admin-token" and logged.sheet_sync == "off"
    assert (
        stub.GetMoment(moments_pb2.GetMomentRequest(id=logged.id), metadata=METADATA).change
        == logged.change
    )
    listed = stub.ListMoments(moments_pb2.ListMomentsRequest(network="linkedin"), metadata=METADATA)
    assert listed.total == 1 and listed.moments[0].people == ["Kim Lee"]


def test_errors(stub: moments_pb2_grpc.MomentsServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as missing_auth:
        stub.ListMoments(moments_pb2.ListMomentsRequest())
    assert missing_auth.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as invalid:
        stub.LogMoment(
            moments_pb2.LogMomentRequest(moment=moments_pb2.Moment(link="nope")), metadata=METADATA
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "link" in (invalid.value.details() or "")
    with pytest.raises(grpc.RpcError) as absent:
        stub.GetMoment(moments_pb2.GetMomentRequest(id="nope"), metadata=METADATA)
    assert absent.value.code() == grpc.StatusCode.NOT_FOUND
