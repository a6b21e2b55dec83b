"""Every metric of the ingest API (HTTP, gRPC, imports, webhooks), declared once with its help
text. The consumer's are in consumer_metrics.py: each process exports only its own."""

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import LATENCY_BUCKETS, SIZE_BUCKETS

# ingest (HTTP + gRPC)
REQUESTS = Counter(
    "rapport_ingest_requests_total",
    "Ingest requests answered, by route, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "rapport_ingest_request_duration_seconds",
    "Time to answer an ingest request, by route and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_ACCEPTED = Counter(
    "rapport_ingest_events_accepted_total",
    "Events validated and acknowledged by Kafka, by transport (rest, grpc, import, webhook).",
    ["transport"],
)
EVENTS_REJECTED = Counter(
    "rapport_ingest_events_rejected_total",
    "Events refused by validation, by transport and the first offending field.",
    ["transport", "reason"],
)
WEBHOOK_REQUESTS = Counter(
    "rapport_ingest_webhook_requests_total",
    "Platform webhook requests by source (meta, x, chatwoot, shopify) and outcome: accepted, "
    "dead_lettered, handshake, handshake_refused, forged, unsigned, stale, off.",
    ["source", "outcome"],
)
WEBHOOK_LAST_DELIVERY = Gauge(
    "rapport_ingest_webhook_last_delivery_timestamp_seconds",
    "When a signed delivery last came from this source (set to the start of the process for "
    "every configured source, so a silent source alerts a day after start at the latest).",
    ["source"],
)
PRODUCE_SECONDS = Histogram(
    "rapport_ingest_produce_duration_seconds",
    "Time from handing a request's records to Kafka until every one was acknowledged.",
    buckets=LATENCY_BUCKETS,
)
REQUEST_EVENTS = Histogram(
    "rapport_ingest_request_events",
    "Events per ingest request or import chunk.",
    buckets=SIZE_BUCKETS,
)
BROKER_UNAVAILABLE = Counter(
    "rapport_ingest_broker_unavailable_total",
    "Requests answered 503 because Kafka did not acknowledge in time.",
)
BACKLOG_EVENTS = Gauge(
    "rapport_ingest_backlog_events",
    "Events this process acknowledged that the consumer has not committed yet.",
)
BACKLOG_REFUSED = Counter(
    "rapport_ingest_backlog_refused_events_total",
    "Events refused with 503 because the backlog reached INGEST_MAX_BACKLOG_EVENTS.",
)
JOURNAL_RECORDS = Gauge(
    "rapport_ingest_journal_records",
    "Acknowledged records kept in the local journal (embedded broker) until committed.",
)
JOURNAL_REPLAYED = Counter(
    "rapport_ingest_journal_replayed_records_total",
    "Records published again from the journal after the broker was replaced.",
)
