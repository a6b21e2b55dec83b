"""Every metric of the consumer (Kafka -> database), declared once with its help text; only the
consumer process imports this module, so ingest's /metrics does not show them at zero."""

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import LATENCY_BUCKETS, SIZE_BUCKETS

RECORDS = Counter(
    "rapport_consumer_records_total", "Kafka records read from rapport.interactions.v1."
)
EVENTS_WRITTEN = Counter(
    "rapport_consumer_events_total",
    "Events applied to the database, by result (inserted, replaced, duplicate, stale).",
    ["result"],
)
BATCH_EVENTS = Histogram(
    "rapport_consumer_batch_events", "Events per database transaction.", buckets=SIZE_BUCKETS
)
DB_WRITE_SECONDS = Histogram(
    "rapport_consumer_db_write_duration_seconds",
    "Time to write one batch (events, rollups, conversation facts) and commit.",
    buckets=LATENCY_BUCKETS,
)
DB_ERRORS = Counter(
    "rapport_consumer_db_errors_total",
    "Batches that failed to commit and will be retried (offsets not committed).",
)
DLQ_RECORDS = Counter(
    "rapport_consumer_dlq_records_total",
    "Poison records sent to the dead-letter topic, by reason.",
    ["reason"],
)
LAG = Gauge(
    "rapport_consumer_lag_records",
    "Records between the consumer's position and the partition end, per partition.",
    ["partition"],
)
NEWEST_EVENT = Gauge(
    "rapport_consumer_newest_event_timestamp_seconds",
    "Ingest time of the newest event committed to the database (rollup freshness).",
)
ASSIGNED = Gauge(
    "rapport_consumer_assigned_partitions",
    "Partitions (both topics) this consumer owns; 0 until it has joined its group.",
)
