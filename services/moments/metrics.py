"""Every metric of the moments service, declared once with its help text."""

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import LATENCY_BUCKETS

MOMENTS_LOGGED = Counter("rapport_moments_logged_total", "Moments logged, by network.", ["network"])
REQUESTS = Counter(
    "rapport_moments_requests_total",
    "Moments requests answered, by route, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "rapport_moments_request_duration_seconds",
    "Time to answer a moments request, by route and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
SHEET_BACKLOG = Gauge(
    "rapport_moments_sheet_backlog_moments", "Moments waiting to be written to the Google Sheet."
)
SHEET_OLDEST = Gauge(
    "rapport_moments_sheet_backlog_oldest_seconds",
    "Age of the oldest moment waiting for the Google Sheet (0 when none waits).",
)
SHEET_FAILURES = Counter(
    "rapport_moments_sheet_sync_failures_total",
    "Failed Google Sheets requests, by reason (quota, server, timeout, client, auth).",
    ["reason"],
)
SHEET_ROWS = Counter(
    "rapport_moments_sheet_rows_written_total",
    "Rows written to the sheet, by operation.",
    ["operation"],
)
SHEET_LAST_SUCCESS = Gauge(
    "rapport_moments_sheet_last_success_timestamp_seconds",
    "When the sheet sync last completed a batch (Unix time).",
)
SURVEY_ANSWERS = Counter(
    "rapport_moments_survey_answers_total", "Survey answers accepted by the public survey page."
)
SURVEY_BACKLOG = Gauge(
    "rapport_moments_survey_backlog_answers",
    "Survey answers accepted and not yet written to the database (the survey outbox).",
)
SURVEY_OLDEST = Gauge(
    "rapport_moments_survey_backlog_oldest_seconds",
    "Age of the oldest survey answer not yet written to the database (0 when none waits).",
)
SURVEY_FAILURES = Counter(
    "rapport_moments_survey_send_failures_total",
    "Survey answers Kafka did not acknowledge (each is sent again later).",
)
