"""Every metric of the reports app, declared once, and business figures for Grafana users."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

from prometheus_client import REGISTRY, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.reports.summary import summary

PAGE_RENDER = Histogram(
    "rapport_reports_page_render_duration_seconds", "Time to render a reports page.", ["page"]
)
QUERY = Histogram(
    "rapport_reports_query_duration_seconds", "Time of a reports query (cache misses).", ["query"]
)


class YearFigures(Collector):
    """This year's headline figures, recomputed at most once a minute when scraped."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at = 0.0
        self._figures: dict[str, float | None] = {}

    def _refresh(self) -> dict[str, float | None]:
        with self._lock:
            if time.monotonic() - self._at > self._ttl_s:
                settings = get_settings()
                engine = make_engine(settings.database_url)
                try:
                    data = summary(
                        engine,
                        year=dt.datetime.now(settings.timezone).year,
                        as_of=None,
                        tz=settings.timezone,
                    )
                finally:
                    engine.dispose()
                self._figures = {
                    "responded_within_1h_ratio": data["support"]["responded_within_1h_rate"],
                    "moments_year": data["moments"]["count"],
                    "impressions_year": data["brand"]["impressions"],
                }
                self._at = time.monotonic()
            return self._figures

    HELP: ClassVar[dict[str, str]] = {
        "responded_within_1h_ratio": (
            "Share of this year's support conversations answered within an hour (0-1)."
        ),
        "moments_year": "Meaningful relationship moments this year.",
        "impressions_year": "Impressions this year.",
    }

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            figures = self._refresh()
        except Exception:  # a scrape must not fail because the database is briefly away
            figures = self._figures
        for name, value in figures.items():
            if value is not None:
                yield GaugeMetricFamily(
                    f"rapport_reports_{name}", self.HELP[name], value=float(value)
                )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names, so the registry knows them (and refuses a second metric of one)."""
        for name, help_text in self.HELP.items():
            yield GaugeMetricFamily(f"rapport_reports_{name}", help_text)


_registered = False


def register_year_figures() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(YearFigures())
        _registered = True


def serve_metrics(settings: Settings) -> None:
    """/metrics on REPORTS_METRICS_PORT (9103) for this process, in a thread of its own."""
    register_year_figures()
    start_http_server(settings.reports_metrics_port, addr=settings.metrics_host)
