"""OpenTelemetry tracing across the pipeline, off unless the standard OTEL_* variables ask for it.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or
OTEL_TRACES_EXPORTER names `otlp` or `console`; OTEL_SDK_DISABLED=true or
OTEL_TRACES_EXPORTER=none keeps it off. Spans go out over OTLP/HTTP (protobuf) in batches; the
SDK reads the rest itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT). When off, the SDK is never imported and
every helper here returns at once, so the hot paths pay one flag check.

What is traced (README "Operating"): each HTTP request (server span, parent from the caller's
W3C `traceparent`), each gRPC call, each publish to Kafka (producer span; its context travels
in the record's `traceparent` header), each consumer batch (consumer span linked to every
producing span it read, with the database write as its child), and each Sheets write (linked to
the requests that saved the moments it writes).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

log = logging.getLogger(__name__)

ON = False
_tracer: trace.Tracer | None = None
TRACE_HEADERS = ("traceparent", "tracestate")
Kind = SpanKind
ERROR = Status(StatusCode.ERROR)


def _exporters(env: Mapping[str, str]) -> set[str]:
    """The exporters OTEL_TRACES_EXPORTER names (`otlp`, `console`, `none`)."""
    return {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")}


def wanted(env: Mapping[str, str] = os.environ) -> bool:
    """What the OTEL_* variables ask for (see the module docstring)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporters(env)
    if "none" in exporters:
        return False
    if exporters & {"otlp", "console"}:
        return True
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(service: str) -> bool:
    """Install the SDK for this process (service.name `rapport-<service>` unless
    OTEL_SERVICE_NAME says otherwise) when the environment asks for tracing."""
    global ON, _tracer
    if not wanted():
        return False
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() not in ("", "http/protobuf"):
        raise SystemExit(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: Rapport exports traces over OTLP/HTTP "
            "(http/protobuf) only; point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP "
            "port (4318 by default)."
        )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"rapport-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    exporters = _exporters(os.environ)
    chosen: list[SpanExporter] = []
    if "console" in exporters:
        chosen.append(ConsoleSpanExporter())
    if "otlp" in exporters or not chosen:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen.append(OTLPSpanExporter())
    for exporter in chosen:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # the last spans go out at a clean stop
    _tracer = trace.get_tracer("rapport")
    ON = True
    log.info(
        "tracing on: spans of %s go out over OTLP/HTTP",
        provider.resource.attributes.get(SERVICE_NAME),
    )
    return True


def fastapi_telemetry() -> dict[str, Any]:
    """FastAPI(telemetry=...): its request spans when tracing is on, without its operation spans
    (dependencies, endpoint, serialization: they doubled the spans per request and cost a
    third of the webhook throughput, bench/RESULTS.md); its OpenTelemetry metrics and logs
    never (Prometheus and our log handler have those). With tracing off, FastAPI skips its
    telemetry wrapper altogether."""
    return {"tracing": ON, "operation_spans": False, "metrics": False, "logs": False}


def _context(headers: Mapping[str, str] | None) -> Any:
    return propagate.extract(headers) if headers else None


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    headers: Mapping[str, str] | None = None,
    parent: Span | None = None,
    links: Iterable[Link] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A span, current while the block runs (None, and nothing done, when tracing is off). Its
    parent: `parent`, else the context in `headers` (a caller's traceparent), else the current
    span. An exception escaping the block marks it as an error."""
    if not ON or _tracer is None:
        yield None
        return
    context = trace.set_span_in_context(parent) if parent is not None else _context(headers)
    with _tracer.start_as_current_span(
        name, context=context, kind=kind, links=list(links), attributes=attributes
    ) as current:
        yield current


def start(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    links: Iterable[Link] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Span | None:
    """A span that is not made current (it spans several calls); end() it yourself."""
    if not ON or _tracer is None:
        return None
    return _tracer.start_span(name, kind=kind, links=list(links), attributes=attributes)


def _carrier() -> dict[str, str]:
    """The current context in W3C form (`traceparent`, and `tracestate` when there is one)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def headers() -> list[tuple[str, bytes]]:
    """The current context as Kafka record headers (`traceparent`, `tracestate`)."""
    if not ON:
        return []
    return [(key, value.encode()) for key, value in _carrier().items()]


def traceparent() -> str | None:
    """The current context's W3C traceparent, to store beside work done later (the outbox)."""
    return _carrier().get("traceparent") if ON else None


def links(carriers: Iterable[Mapping[str, str]]) -> list[Link]:
    """Links to the spans whose contexts the carriers hold (those holding none are skipped)."""
    if not ON:
        return []
    out = []
    for carrier in carriers:
        context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if context.is_valid:
            out.append(Link(context))
    return out


def record_links(records: Iterable[Any]) -> list[Link]:
    """Links to the producing spans of Kafka records (their `traceparent` headers)."""
    if not ON:
        return []
    carriers = (
        {
            key: value.decode(errors="replace")
            for key, value in (record.headers or ())
            if key in TRACE_HEADERS and value
        }
        for record in records
    )
    return links(carrier for carrier in carriers if carrier)


def ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span in hex, for the logs; None outside one."""
    if not ON:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
