"""Shared plumbing for every Rapport service: config, database engine, Kafka, logs, metrics,
tracing, ASGI middleware, error bodies, the clock, CSV, processes, gRPC serving and languages.
No business rule lives here: those are the shared domain's (services/domain)."""
