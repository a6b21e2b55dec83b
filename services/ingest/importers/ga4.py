"""A GA4 Data API `runReport` answer -> visits and conversions from social
(docs/export-formats.md#ga4-runreport-answer-ga4_report).

The layout is Google's RunReportResponse: `dimensionHeaders[].name` and `metricHeaders[].name`
in the order the request named them, `rows[].dimensionValues[].value` and
`rows[].metricValues[].value` in that order, every value a string (currency metrics floating
point: "209.99999999999997"), `metadata.currencyCode`. GA4 leaves empty fields out: a report
with no rows has neither `rows` nor `rowCount`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson

from services.domain.vocabulary import network_from_source
from services.ingest.events import EventFields
from services.ingest.importers.base import (
    Context,
    FileProblem,
    Opener,
    Parsed,
    RowError,
    RowProblem,
    Shared,
    event_of,
)

SOURCE = "ga4_report"
# Mediums GA4 and campaign tagging guides use for social traffic.
SOCIAL_MEDIUMS = frozenset(
    {"social", "social-network", "social-media", "sm", "organic-social", "paid-social"}
)
REQUIRED_DIMENSIONS = ("date", "sessionSource", "sessionMedium")
# Each figure by the first of its names the report carries (GA4 renamed conversions in 2024).
KEY_EVENTS = ("keyEvents", "conversions")
REVENUE = ("totalRevenue", "purchaseRevenue")
CENT = Decimal("0.01")
NOON = dt.time(12)


def ga4_report(opener: Opener, context: Context) -> Iterator[Parsed]:
    """One Parsed per report row: a social row's visit (and conversion), else skipped."""
    report = _report(opener)
    layout = Layout.of(report)
    currency = _currency(report) or context.currency
    rows = report.get("rows") or []
    if not isinstance(rows, list):
        raise FileProblem("rows: must be a list of rows")
    for number, row in enumerate(rows, start=1):
        try:
            values = layout.values(row)
            if not _social(values["sessionSource"], values["sessionMedium"]):
                yield Parsed(number, skipped=True)
                continue
            yield Parsed(number, _events(values, currency, context))
        except RowProblem as problem:
            yield Parsed(number, error=RowError(number, problem.column, problem.message))


def _report(opener: Opener) -> dict[str, Any]:
    with opener() as handle:
        raw = handle.read()
    try:
        report = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FileProblem(f"not a GA4 runReport answer: not JSON ({exc})") from None
    if not isinstance(report, dict) or "dimensionHeaders" not in report:
        raise FileProblem(
            "not a GA4 runReport answer: no dimensionHeaders (save the JSON body the Data API's "
            "runReport returned, with dimensions date, sessionSource, sessionMedium)"
        )
    return report


def _currency(report: dict[str, Any]) -> str | None:
    metadata = report.get("metadata")
    code = metadata.get("currencyCode") if isinstance(metadata, dict) else None
    return str(code) if code else None


class Layout:
    """Where each dimension and metric sits in a row, found by name in any order."""

    def __init__(self, dimensions: list[str], metrics: list[str]) -> None:
        self.dimensions, self.metrics = dimensions, metrics

    @classmethod
    def of(cls, report: dict[str, Any]) -> Layout:
        dimensions = _names(report, "dimensionHeaders")
        metrics = _names(report, "metricHeaders")
        missing = [d for d in REQUIRED_DIMENSIONS if d not in dimensions]
        missing += [] if "sessions" in metrics else ["sessions"]
        if missing:
            raise FileProblem(
                f"not a GA4 report Rapport can read: missing {', '.join(missing)}; the report "
                f"has dimensions {', '.join(dimensions) or '(none)'} and metrics "
                f"{', '.join(metrics) or '(none)'}"
            )
        return cls(dimensions, metrics)

    def values(self, row: Any) -> dict[str, str]:
        """{name: value} of one row, every dimension and metric."""
        if not isinstance(row, dict):
            raise RowProblem("rows", "not a row object")
        out: dict[str, str] = {}
        for field, names in (("dimensionValues", self.dimensions), ("metricValues", self.metrics)):
            cells = row.get(field)
            if not isinstance(cells, list) or len(cells) != len(names):
                raise RowProblem(field, f"must hold {len(names)} values, one per header")
            for name, found in zip(names, cells, strict=True):
                value = found.get("value", "") if isinstance(found, dict) else None
                if not isinstance(value, str):
                    raise RowProblem(name, "must be an object with a string value")
                out[name] = value
        return out


def _names(report: dict[str, Any], field: str) -> list[str]:
    headers = report.get(field) or []
    if not isinstance(headers, list):
        raise FileProblem(f"{field}: must be a list of headers")
    return [str(h.get("name", "")) if isinstance(h, dict) else "" for h in headers]


def _social(source: str, medium: str) -> bool:
    return medium.strip().lower() in SOCIAL_MEDIUMS or network_from_source(source) is not None


def _events(values: dict[str, str], currency: str | None, context: Context) -> list[EventFields]:
    day = _day(values["date"])
    source, medium = values["sessionSource"], values["sessionMedium"]
    campaign = values.get("sessionCampaignName", "")
    noon = dt.datetime.combine(day, NOON, context.timezone or dt.UTC)
    base = f"ga4:{values['date']}:{source}:{medium}:{campaign}"
    common: Shared = {
        "occurred_at": noon.isoformat(),
        "network": network_from_source(source) or "other",
        "account": context.account or "default",
        "attributes": {"utm_source": source, "utm_medium": medium}
        | ({"utm_campaign": campaign} if campaign else {}),
    }
    events = [event_of(common, f"{base}:visit", "visit", _count(values, "sessions"))]
    layout_key = next((m for m in KEY_EVENTS if m in values), None)
    conversions = _count(values, layout_key) if layout_key else 0
    if conversions > 0:
        conversion = event_of(common, f"{base}:conversion", "conversion", conversions)
        revenue_name = next((m for m in REVENUE if m in values), None)
        if revenue_name:
            if not currency:
                raise RowProblem(
                    "metadata.currencyCode",
                    "the report names no currency: pass --currency (or ?currency=)",
                )
            conversion["value"] = str(_decimal(values, revenue_name).quantize(CENT, ROUND_HALF_UP))
            conversion["currency"] = currency
        events.append(conversion)
    return events


def _day(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise RowProblem("date", f"{value[:20]!r} is not a GA4 date (YYYYMMDD)") from None


def _decimal(values: dict[str, str], name: str) -> Decimal:
    text = values[name].strip() or "0"
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowProblem(name, f"{text[:40]!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise RowProblem(name, f"{text[:40]!r} must be a number of 0 or more")
    return number


def _count(values: dict[str, str], name: str) -> int:
    return int(_decimal(values, name).quantize(Decimal(1), ROUND_HALF_UP))
