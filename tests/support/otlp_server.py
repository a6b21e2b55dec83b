"""A local OTLP/HTTP trace receiver, as an OpenTelemetry Collector's `otlphttp` receiver answers:
POST /v1/traces with an ExportTraceServiceRequest in protobuf (gzip when the exporter compresses),
200 with an ExportTraceServiceResponse. Spans are decoded with opentelemetry-proto and kept for
the tests to read as plain `Span` records."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

KINDS = {
    trace_pb2.Span.SPAN_KIND_INTERNAL: "internal",
    trace_pb2.Span.SPAN_KIND_SERVER: "server",
    trace_pb2.Span.SPAN_KIND_CLIENT: "client",
    trace_pb2.Span.SPAN_KIND_PRODUCER: "producer",
    trace_pb2.Span.SPAN_KIND_CONSUMER: "consumer",
}


@dataclass
class Span:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    links: list[tuple[str, str]]
    attributes: dict[str, Any]
    error: bool
    start_ns: int = 0
    end_ns: int = 0


def _value(any_value: Any) -> Any:
    which = any_value.WhichOneof("value")
    return getattr(any_value, which) if which else None


def decode(body: bytes) -> list[Span]:
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                out.append(
                    Span(
                        service=str(resource.get("service.name", "")),
                        name=s.name,
                        kind=KINDS.get(s.kind, "unspecified"),
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                        attributes={a.key: _value(a.value) for a in s.attributes},
                        error=s.status.code == trace_pb2.Status.STATUS_CODE_ERROR,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                    )
                )
    return out


@dataclass
class OtlpServer:
    host: str = "127.0.0.1"
    spans: list[Span] = field(default_factory=list)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        """For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces)."""
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> OtlpServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_error(415, "OTLP/HTTP wants application/x-protobuf")
                    return
                spans = decode(body)
                with receiver._lock:
                    receiver.spans += spans
                    receiver.requests += 1
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def received(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def wait_for(self, found: Callable[[list[Span]], bool], timeout_s: float = 30.0) -> list[Span]:
        """Every span received once `found` holds for them (AssertionError with them otherwise)."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.received()
            if found(spans):
                return spans
            if time.monotonic() > deadline:
                names = [(s.service, s.name) for s in spans]
                raise AssertionError(f"spans received after {timeout_s}s: {names}")
            time.sleep(0.1)
