"""The environment of a spawned `rapport <service>` process in a test: the test's database,
broker, topics and consumer group, an admin token, free gRPC ports, no sheet unless given."""

from __future__ import annotations

import os

from services.common import processes
from services.common.config import Settings

ADMIN_TOKEN = "test-admin-token"


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "KAFKA_TOPIC": settings.kafka_topic,
        "KAFKA_DLQ_TOPIC": settings.kafka_dlq_topic,
        "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
        "RAPPORT_ADMIN_TOKEN": ADMIN_TOKEN,
        "INGEST_GRPC_PORT": str(processes.free_port()),
        "MOMENTS_GRPC_PORT": str(processes.free_port()),
        "SHEETS_SPREADSHEET_ID": "",
        **extra,
    }
