"""Writes the Grafana dashboards in grafana/dashboards/ from the panel lists below.

Run `python dashboards/build.py` after changing a panel; the test suite fails when the committed
JSON differs from what this script writes. Every panel uses the provisioned datasource uid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "rapport-prometheus"}
OUT = Path(__file__).parent / "grafana" / "dashboards"

Panel = tuple[str, str, list[tuple[str, str]]]  # (title, unit, [(expr, legend)])


def panel(
    index: int, title: str, unit: str, targets: list[tuple[str, str]], kind: str = "timeseries"
) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(65 + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard(uid: str, title: str, panels: list[Panel], tags: list[str]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["rapport", *tags],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": [panel(i, *p) for i, p in enumerate(panels)],
    }


RED = "sum by (route) (rate(rapport_{s}_requests_total[5m]))"
ERRORS = 'sum(rate(rapport_{s}_requests_total{{status=~"5.."}}[5m])) / sum(rate(rapport_{s}_requests_total[5m]))'
P99 = "histogram_quantile(0.99, sum by (le, route) (rate(rapport_{s}_request_duration_seconds_bucket[5m])))"

DASHBOARDS = {
    "rapport-overview": dashboard("rapport-overview", "Rapport overview", [
        ("Events accepted per second (by transport)", "ops", [("sum by (transport) (rate(rapport_ingest_events_accepted_total[5m]))", "{{transport}}")]),
        ("Events written per second (by result)", "ops", [("sum by (result) (rate(rapport_consumer_events_total[5m]))", "{{result}}")]),
        ("Consumer lag (records)", "short", [("sum(rapport_consumer_lag_records)", "lag")]),
        ("Rollup freshness (age of newest event written)", "s", [("time() - max(rapport_consumer_newest_event_timestamp_seconds)", "age")]),
        ("Error ratio (5xx)", "percentunit", [(ERRORS.format(s="ingest"), "ingest"), (ERRORS.format(s="moments"), "moments")]),
        ("Dead letters per second", "ops", [("sum(rate(rapport_consumer_dlq_records_total[5m]))", "poison records"), ("sum(rate(rapport_ingest_events_rejected_total[5m]))", "rejected events")]),
        ("Google Sheet backlog", "short", [("max(rapport_moments_sheet_backlog_moments)", "moments waiting")]),
        ("Since the last successful sheet sync", "s", [("time() - max(rapport_moments_sheet_last_success_timestamp_seconds)", "age")]),
        ("Services up", "short", [('up{job=~"rapport-.*"}', "{{job}}")]),
    ], ["overview"]),
    "rapport-ingest": dashboard("rapport-ingest", "Rapport ingest", [
        ("Requests per second (by route)", "reqps", [(RED.format(s="ingest"), "{{route}}")]),
        ("p99 request latency (by route)", "s", [(P99.format(s="ingest"), "{{route}}")]),
        ("Error ratio (5xx)", "percentunit", [(ERRORS.format(s="ingest"), "5xx")]),
        ("Rejected events (by reason)", "ops", [("sum by (reason) (rate(rapport_ingest_events_rejected_total[5m]))", "{{reason}}")]),
        ("Produce latency p50 / p99", "s", [("histogram_quantile(0.5, sum by (le) (rate(rapport_ingest_produce_duration_seconds_bucket[5m])))", "p50"), ("histogram_quantile(0.99, sum by (le) (rate(rapport_ingest_produce_duration_seconds_bucket[5m])))", "p99")]),
        ("Kafka unavailable (503 answers)", "ops", [("rate(rapport_ingest_broker_unavailable_total[5m])", "503s")]),
        ("Webhook deliveries (by source and outcome)", "reqps", [("sum by (source, outcome) (rate(rapport_ingest_webhook_requests_total[5m]))", "{{source}} {{outcome}}")]),
        ("Hours since the last webhook delivery", "h", [("(time() - max by (source) (rapport_ingest_webhook_last_delivery_timestamp_seconds)) / 3600", "{{source}}")]),
    ], ["ingest"]),
    "rapport-consumer": dashboard("rapport-consumer", "Rapport consumer", [
        ("Lag per partition (records)", "short", [("rapport_consumer_lag_records", "partition {{partition}}")]),
        ("Records read per second", "ops", [("rate(rapport_consumer_records_total[5m])", "records")]),
        ("Events per transaction (p50)", "short", [("histogram_quantile(0.5, sum by (le) (rate(rapport_consumer_batch_events_bucket[5m])))", "p50")]),
        ("Database write p99", "s", [("histogram_quantile(0.99, sum by (le) (rate(rapport_consumer_db_write_duration_seconds_bucket[5m])))", "p99")]),
        ("Database errors (batches retried)", "ops", [("rate(rapport_consumer_db_errors_total[5m])", "errors")]),
        ("Poison records to the DLQ (by reason)", "ops", [("sum by (reason) (rate(rapport_consumer_dlq_records_total[5m]))", "{{reason}}")]),
    ], ["consumer"]),
    "rapport-moments": dashboard("rapport-moments", "Rapport moments", [
        ("Requests per second (by route)", "reqps", [(RED.format(s="moments"), "{{route}}")]),
        ("p99 request latency (by route)", "s", [(P99.format(s="moments"), "{{route}}")]),
        ("Sheet backlog and its oldest moment", "short", [("rapport_moments_sheet_backlog_moments", "waiting"), ("rapport_moments_sheet_backlog_oldest_seconds / 60", "oldest (min)")]),
        ("Sheet sync failures (by reason)", "ops", [("sum by (reason) (rate(rapport_moments_sheet_sync_failures_total[5m]))", "{{reason}}")]),
        ("Rows written to the sheet", "ops", [("sum by (operation) (rate(rapport_moments_sheet_rows_written_total[5m]))", "{{operation}}")]),
        ("Survey answers per second", "ops", [("sum(rate(rapport_moments_survey_answers_total[5m]))", "accepted"), ("sum(rate(rapport_moments_survey_send_failures_total[5m]))", "send failures")]),
        ("Survey answers not yet in the database, and the oldest", "short", [("max(rapport_moments_survey_backlog_answers)", "waiting"), ("max(rapport_moments_survey_backlog_oldest_seconds) / 60", "oldest (min)")]),
    ], ["moments"]),
    "rapport-reports": dashboard("rapport-reports", "Rapport reports", [
        ("Page render p95 (by page)", "s", [("histogram_quantile(0.95, sum by (le, page) (rate(rapport_reports_page_render_duration_seconds_bucket[5m])))", "{{page}}")]),
        ("Query p95 (by query, cache misses)", "s", [("histogram_quantile(0.95, sum by (le, query) (rate(rapport_reports_query_duration_seconds_bucket[5m])))", "{{query}}")]),
    ], ["reports"]),
    "rapport-business": dashboard("rapport-business", "Rapport business", [
        ("Moments logged per day", "short", [("sum(increase(rapport_moments_logged_total[1d]))", "moments")]),
        ("Answered within 1 hour (year to date)", "percentunit", [("max(rapport_reports_responded_within_1h_ratio)", "rate")]),
        ("Moments this year", "short", [("max(rapport_reports_moments_year)", "moments")]),
        ("Impressions this year", "short", [("max(rapport_reports_impressions_year)", "impressions")]),
    ], ["business"]),
}  # fmt: skip


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in DASHBOARDS.items():
        (OUT / f"{name}.json").write_text(json.dumps(board, indent=2) + "\n")


if __name__ == "__main__":
    main()
