"""A gRPC server as every service runs one: a thread pool, the standard health service saying
SERVING for the service and for the server as a whole, reflection, one port (0: a free one)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


@dataclass
class RunningGrpc:
    server: grpc.Server
    port: int  # the one bound (the free one when asked for 0)


def serve_grpc(
    add_servicer: Callable[[grpc.Server], None],
    *,
    service_name: str,
    host: str,
    port: int,
    workers: int,
    thread_prefix: str,
    options: list[tuple[str, int]] | None = None,
) -> RunningGrpc:
    """Start a server with the servicer `add_servicer` registers, health and reflection."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_prefix),
        options=options or [],
    )
    add_servicer(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (service_name, ""):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return RunningGrpc(server, bound)
