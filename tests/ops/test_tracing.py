"""OpenTelemetry across the pipeline, as an on-call engineer's collector receives it: the real
processes (`rapport ingest`, `rapport consumer`, `rapport moments`) export over OTLP/HTTP to a
receiver that decodes opentelemetry-proto (tests/support/otlp_server.py). The caller brings its
own W3C traceparent, as a traced client would; tracing does not depend on the database, so these
run on SQLite only."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rapport.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from sqlalchemy.engine import Engine

from services.common import processes, tracing
from services.common.config import Settings
from services.common.db import make_engine
from tests.conftest import Broker, emptied, pipeline_settings
from tests.factories import event
from tests.factories_moments import moment
from tests.ingest.helpers import AUTH, event_count, wait_until
from tests.support.otlp_server import OtlpServer, Span
from tests.support.services import service_env
from tests.support.sheets_server import SheetsServer


class Caller:
    """A traced client: one trace id and the span id its request goes out under."""

    def __init__(self) -> None:
        self.trace_id = secrets.token_hex(16)
        self.span_id = secrets.token_hex(8)
        self.traceparent = f"00-{self.trace_id}-{self.span_id}-01"


@pytest.fixture
def otlp() -> Iterator[OtlpServer]:
    server = OtlpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_settings(broker: Broker, sqlite_url: str) -> Settings:
    return pipeline_settings(broker, emptied(sqlite_url))


def otel_env(otlp: OtlpServer) -> dict[str, str]:
    # Export every 100 ms instead of every 5 s, so the test reads its spans at once.
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


def one(spans: list[Span], **match: object) -> Span:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.service, s.name, s.trace_id) for s in spans])
    return found[0]


def under(spans: list[Span], child: Span, ancestor: Span) -> bool:
    """Whether `ancestor` is on `child`'s parent chain (FastAPI puts operation spans between)."""
    by_id = {s.span_id: s for s in spans}
    current: Span | None = child
    while current is not None and current.parent_id:
        if current.parent_id == ancestor.span_id:
            return True
        current = by_id.get(current.parent_id)
    return False


def linking(spans: list[Span], target: Span) -> list[Span]:
    return [s for s in spans if (target.trace_id, target.span_id) in s.links]


def test_off_unless_the_otel_variables_ask() -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not tracing.ON  # the test process itself never configured it: nothing is traced


def test_one_trace_runs_from_rest_and_grpc_through_kafka_to_the_database_write(
    sqlite_settings: Settings, otlp: OtlpServer, tmp_path: Path
) -> None:
    settings = sqlite_settings
    engine: Engine = make_engine(settings.database_url)
    http_port = processes.free_port()
    env = service_env(
        settings,
        INGEST_HTTP_PORT=str(http_port),
        CONSUMER_SESSION_TIMEOUT_MS="6000",
        CONSUMER_METRICS_PORT=str(processes.free_port()),
        LOG_FORMAT="json",
        **otel_env(otlp),
    )
    ingest = processes.spawn(processes.rapport_command("ingest"), env=env, log=tmp_path / "i.log")
    consumer = processes.spawn(
        processes.rapport_command("consumer"), env=env, log=tmp_path / "c.log"
    )
    rest, rpc = Caller(), Caller()
    try:
        processes.wait_for_port(http_port, timeout_s=60)
        answer = httpx.post(
            f"http://127.0.0.1:{http_port}/v1/interactions",
            json=[event(event_id=f"rest-{n}") for n in range(3)],
            headers={**AUTH, "traceparent": rest.traceparent},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        occurred = Timestamp()
        occurred.FromJsonString("2026-04-01T12:00:00Z")
        request = ingest_pb2.PublishRequest(
            events=[
                ingest_pb2.Interaction(
                    event_id="rpc-1", occurred_at=occurred, network="instagram", kind="comment"
                )
            ]
        )
        with grpc.insecure_channel(f"127.0.0.1:{env['INGEST_GRPC_PORT']}") as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            metadata = (("authorization", AUTH["Authorization"]), ("traceparent", rpc.traceparent))
            assert stub.Publish(request, metadata=metadata, timeout=30).accepted == 1
        wait_until(lambda: event_count(engine) == 4, timeout_s=60, what="the four events")

        def complete(spans: list[Span]) -> bool:
            """Both callers' producer spans are linked from a consumer batch that was written."""
            producers = [s for s in spans if s.kind == "producer"]
            batches = [s for s in spans if s.kind == "consumer"]
            writes = {s.parent_id for s in spans if s.name == "write batch"}
            linked = {trace for b in batches if b.span_id in writes for trace, _span in b.links}
            return {rest.trace_id, rpc.trace_id} <= linked and len(producers) >= 2

        spans = otlp.wait_for(complete, timeout_s=60)
    finally:
        processes.stop(consumer)
        processes.stop(ingest)
        engine.dispose()

    for caller, name in (
        (rest, "POST /v1/interactions"),
        (rpc, "rapport.ingest.v1.IngestService/Publish"),
    ):
        # The request: a server span of ingest, child of the caller's span.
        server = one(spans, trace_id=caller.trace_id, kind="server")
        assert (server.service, server.name) == ("rapport-ingest", name)
        assert server.parent_id == caller.span_id and not server.error
        # Its publish: a producer span under it, whose context the Kafka record carried.
        producer = one(spans, trace_id=caller.trace_id, kind="producer")
        assert under(spans, producer, server)
        assert producer.name == f"send {settings.kafka_topic}"
        assert producer.attributes["messaging.destination.name"] == settings.kafka_topic
        # The consumer's batch (its own trace) links to that producer span; the database write
        # is the batch's child.
        batches = [s for s in linking(spans, producer) if s.kind == "consumer"]
        assert batches and all(b.service == "rapport-consumer" for b in batches)
        writes = [s for s in spans if s.name == "write batch" and s.parent_id in
                  {b.span_id for b in batches}]  # fmt: skip
        assert writes and writes[0].attributes["db.system.name"] == "sqlite"
        assert writes[0].trace_id in {b.trace_id for b in batches}
    rest_server = one(spans, trace_id=rest.trace_id, kind="server")
    assert rest_server.attributes["http.response.status_code"] == 202
    assert rest_server.attributes["http.route"] == "/v1/interactions"


def test_a_moment_request_leads_to_its_sheets_write_and_its_log_lines_carry_the_trace(
    sqlite_url: str, otlp: OtlpServer, tmp_path: Path
) -> None:
    sheets = SheetsServer().start()
    port = processes.free_port()
    settings = Settings(database_url=emptied(sqlite_url), _env_file=None)  # type: ignore[call-arg]
    env = service_env(
        settings,
        MOMENTS_HTTP_PORT=str(port),
        MOMENTS_METRICS_PORT=str(processes.free_port()),
        GOOGLE_SHEETS_API_URL=sheets.url,
        SHEETS_SPREADSHEET_ID=sheets.spreadsheet_id,
        GOOGLE_APPLICATION_CREDENTIALS=str(sheets.credentials_file(tmp_path)),
        LOG_FORMAT="json",
        **otel_env(otlp),
    )
    log_file = tmp_path / "moments.log"
    server = processes.spawn(processes.rapport_command("moments"), env=env, log=log_file)
    saving, login = Caller(), Caller()
    try:
        processes.wait_for_port(port, timeout_s=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
            saved = web.post(
                "/api/v1/moments",
                json=moment(),
                headers={**AUTH, "traceparent": saving.traceparent},
            )
            assert saved.status_code == 201, saved.text
            page = web.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert csrf
            web.post(
                "/login",
                data={"username": "nobody", "password": "wrong", "csrf_token": csrf.group(1)},
                headers={"traceparent": login.traceparent},
            )
        wait_until(lambda: len(sheets.ids()) == 1, timeout_s=60, what="the moment in the sheet")

        def written(spans: list[Span]) -> bool:
            return any(s.name == "sheets write" and s.links for s in spans)

        spans = otlp.wait_for(written, timeout_s=60)
    finally:
        processes.stop(server)
        sheets.stop()

    request = one(spans, trace_id=saving.trace_id, kind="server")
    assert (request.service, request.name) == ("rapport-moments", "POST /api/v1/moments")
    assert request.parent_id == saving.span_id
    write = one(spans, name="sheets write")
    assert write.kind == "client" and write.service == "rapport-moments"
    # Linked to the span that saved the moment: the request's own or one of FastAPI's under it.
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    saved_by = [by_id[link] for link in write.links if link in by_id]
    assert saved_by and all(s is request or under(spans, s, request) for s in saved_by)
    assert write.attributes["rapport.moments"] == 1
    # A line logged inside a request names its trace and span (LOG_FORMAT=json).
    records = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    failed = [r for r in records if r["message"].startswith("login failed for 'nobody'")]
    assert len(failed) == 1, records[-5:]
    login_server = one(spans, trace_id=login.trace_id, kind="server")
    assert failed[0]["trace_id"] == login.trace_id
    logged_in = by_id[(login.trace_id, failed[0]["span_id"])]
    assert logged_in is login_server or under(spans, logged_in, login_server)
