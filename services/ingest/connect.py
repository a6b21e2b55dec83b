"""`rapport connect status`: what each platform webhook has done, read from a running ingest's
/metrics (the numbers since that process started; Prometheus keeps the history)."""

from __future__ import annotations

import time
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

SOURCES = ("meta", "x", "chatwoot")
REFUSED = ("forged", "unsigned", "stale", "handshake_refused")


def status(metrics_url: str) -> str:
    try:
        page = httpx.get(metrics_url, timeout=10).text
    except httpx.HTTPError as exc:
        return f"Ingest is not answering at {metrics_url} ({exc}): is `rapport ingest` running?"
    return summarise(page)


def summarise(page: str, now: float | None = None) -> str:
    """The table of `status` from a /metrics page."""
    counts: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    last: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            source = sample.labels.get("source", "")
            if sample.name == "rapport_ingest_webhook_requests_total":
                counts[source][sample.labels["outcome"]] += sample.value
            elif sample.name == "rapport_ingest_webhook_last_delivery_timestamp_seconds":
                last[source] = sample.value
    now = time.time() if now is None else now
    lines = ["source     state  last delivery       accepted  dead-lettered  refused"]
    for source in SOURCES:
        seen = counts[source]
        if source not in last and not seen.get("off"):
            state, when = "off", "-"
        elif source not in last:
            state, when = "off", "- (refused as off)"
        else:
            state, when = "on", _ago(now - last[source])
        refused = sum(seen.get(outcome, 0) for outcome in REFUSED)
        lines.append(
            f"{source:<10} {state:<6} {when:<19} {seen.get('accepted', 0):>8.0f}  "
            f"{seen.get('dead_lettered', 0):>13.0f}  {refused:>7.0f}"
        )
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
