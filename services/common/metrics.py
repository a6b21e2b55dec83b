"""Prometheus helpers: the /metrics response and a stand-alone metrics server for workers."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server
from starlette.requests import Request
from starlette.responses import Response

# Seconds buckets from 1 ms to 30 s: request, produce and write latencies all fall in here.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Events per request, record or database batch.
SIZE_BUCKETS = (1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


def metrics_response(_request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on its own port (for processes without an HTTP API, e.g. the consumer)."""
    start_http_server(port, addr=host)
