"""What each platform webhook has done, read from a running ingest's /metrics (the numbers since
that process started; Prometheus keeps the history): `rapport connect status` prints it, the
reports app's Settings page shows it."""

from __future__ import annotations

import time
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

SOURCES = ("meta", "x", "chatwoot", "shopify")
REFUSED = ("forged", "unsigned", "stale", "handshake_refused")


def fetch(metrics_url: str, timeout_s: float = 10.0) -> str:
    """Ingest's /metrics page; OSError naming the address when it does not answer."""
    try:
        return httpx.get(metrics_url, timeout=timeout_s).text
    except httpx.HTTPError as exc:
        raise OSError(
            f"Ingest is not answering at {metrics_url} ({exc}): is `rapport ingest` running?"
        ) from exc


def status(metrics_url: str) -> str:
    try:
        return summarise(fetch(metrics_url))
    except OSError as exc:
        return str(exc)


def sources(page: str, now: float | None = None) -> list[dict[str, object]]:
    """Per source: state (on/off), seconds since its last signed delivery, accepted,
    dead-lettered and refused requests."""
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
    out: list[dict[str, object]] = []
    for source in SOURCES:
        seen = counts[source]
        out.append(
            {
                "source": source,
                "state": "on" if source in last else "off",
                "refused_as_off": bool(seen.get("off")),
                "last_delivery_ago_s": now - last[source] if source in last else None,
                "accepted": int(seen.get("accepted", 0)),
                "dead_lettered": int(seen.get("dead_lettered", 0)),
                "refused": int(sum(seen.get(outcome, 0) for outcome in REFUSED)),
            }
        )
    return out


def last_delivery(row: dict[str, object]) -> str:
    ago = row["last_delivery_ago_s"]
    if isinstance(ago, float):
        return _ago(ago)
    return "- (refused as off)" if row["refused_as_off"] else "-"


def summarise(page: str, now: float | None = None) -> str:
    """The table of `status` from a /metrics page."""
    lines = ["source     state  last delivery       accepted  dead-lettered  refused"]
    for row in sources(page, now):
        lines.append(
            f"{row['source']:<10} {row['state']:<6} {last_delivery(row):<19} "
            f"{row['accepted']:>8}  {row['dead_lettered']:>13}  {row['refused']:>7}"
        )
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
