"""gRPC IngestService (Publish, PublishStream) with the standard health and reflection services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from rapport.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from sqlalchemy.engine import Engine

from services.common import tracing
from services.common.config import Settings
from services.common.grpc_serving import RunningGrpc, serve_grpc
from services.domain.auth import grpc_caller
from services.ingest.events import proto_to_dict
from services.ingest.metrics import REQUEST_SECONDS, REQUESTS
from services.ingest.publisher import BrokerUnavailable, Publisher
from services.ingest.service import Outcome, count_accepted, submit

SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    """Same validation, publishing and answers as POST /v1/interactions."""

    def __init__(self, publisher: Publisher, engine: Engine, *, admin_token: str | None) -> None:
        self._publisher = publisher
        self._engine = engine
        self._admin_token = admin_token

    def _authorize(self, context: grpc.ServicerContext) -> None:
        grpc_caller(context, self._engine, admin_token=self._admin_token, write=True)

    def _publish(
        self, requests: Iterator[ingest_pb2.PublishRequest], context: grpc.ServicerContext
    ) -> ingest_pb2.PublishResponse:
        self._authorize(context)
        outcome = Outcome()
        pending = []
        offset = 0
        try:
            # Each request is handed to the producer as it arrives, so a long stream pipelines;
            # the answer waits until Kafka acknowledged all of it.
            for request in requests:
                items = [proto_to_dict(event) for event in request.events]
                submitted = submit(
                    self._publisher, items, transport="grpc", source="grpc", index_offset=offset
                )
                offset += len(items)
                outcome.accepted += submitted.outcome.accepted
                outcome.rejected += submitted.outcome.rejected
                pending += submitted.futures
            self._publisher.wait(pending)
        except BrokerUnavailable as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, exc.client_message)
        count_accepted(outcome, "grpc")
        return ingest_pb2.PublishResponse(
            accepted=outcome.accepted,
            rejected=[
                ingest_pb2.Rejection(index=r["index"], error=r["error"]) for r in outcome.rejected
            ],
        )

    def Publish(
        self, request: ingest_pb2.PublishRequest, context: grpc.ServicerContext
    ) -> ingest_pb2.PublishResponse:
        with _observe("Publish", context) as status:
            response = self._publish(iter([request]), context)
            status[0] = "OK"
            return response

    def PublishStream(
        self, request_iterator: Iterator[ingest_pb2.PublishRequest], context: grpc.ServicerContext
    ) -> ingest_pb2.PublishResponse:
        with _observe("PublishStream", context) as status:
            response = self._publish(request_iterator, context)
            status[0] = "OK"
            return response


@contextmanager
def _observe(method: str, context: grpc.ServicerContext) -> Iterator[list[str]]:
    """RED metrics for one RPC, and its server span when tracing (the caller's traceparent in
    the metadata its parent); the status stays "ERROR" unless the handler sets it."""
    status = ["ERROR"]
    started = time.perf_counter()
    carrier = None
    if tracing.ON:
        carrier = {k: v for k, v in context.invocation_metadata() if k in tracing.TRACE_HEADERS}
    with tracing.span(
        f"{SERVICE_NAME}/{method}",
        kind=tracing.Kind.SERVER,
        headers=carrier,
        attributes={"rpc.system": "grpc", "rpc.service": SERVICE_NAME, "rpc.method": method},
    ) as span:
        try:
            yield status
        finally:
            REQUEST_SECONDS.labels(f"grpc:{method}", "RPC").observe(time.perf_counter() - started)
            REQUESTS.labels(f"grpc:{method}", "RPC", status[0]).inc()
            if span is not None and status[0] != "OK":
                span.set_status(tracing.ERROR)


def start_grpc(
    publisher: Publisher, engine: Engine, settings: Settings, *, port: int, host: str = "127.0.0.1"
) -> RunningGrpc:
    """Start the gRPC server (port 0 picks a free one) with health and reflection enabled."""
    servicer = IngestServicer(publisher, engine, admin_token=settings.rapport_admin_token)
    return serve_grpc(
        lambda server: ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicer, server),
        service_name=SERVICE_NAME,
        host=host,
        port=port,
        workers=16,
        thread_prefix="grpc",
        options=[("grpc.max_receive_message_length", 32 * 1024 * 1024)],
    )
