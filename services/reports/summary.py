"""`rapport summary`: the year's figures as the JSON named in ARCHITECTURE.md, or a table."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from services.reports import queries
from services.reports.figures import Period, brand_figures, support_figures


def summary(
    engine: Engine,
    *,
    year: int,
    as_of: dt.date | None,
    tz: ZoneInfo,
    network: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    period = Period.of(year, as_of, tz)
    facts = queries.conversations(engine, period, network=network, account=account)
    totals = queries.kind_totals(engine, period, network=network, account=account)
    return {
        "year": year,
        "as_of": period.as_of.isoformat(),
        "support": support_figures(facts, period),
        "brand": brand_figures(totals),
        # Moments and goals arrive with the moments and reports services (issues 3 and 4).
        "moments": {"count": None, "existing_customer": None},
        "goals": {},
    }


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def as_table(data: dict[str, Any]) -> str:
    """A readable table of the same figures."""
    s, b = data["support"], data["brand"]
    rows = [
        (f"Rapport summary {data['year']} (as of {data['as_of']})", ""),
        ("Customer-support impact", ""),
        ("  conversations", f"{s['conversations']:,}"),
        ("  answered", f"{s['answered']:,}"),
        ("  median first response", _fmt_seconds(s["median_first_response_s"])),
        ("  p90 first response", _fmt_seconds(s["p90_first_response_s"])),
        ("  answered within 1 h", _fmt_rate(s["responded_within_1h_rate"])),
        ("  median resolution", _fmt_seconds(s["median_resolution_s"])),
        ("  social share of support", _fmt_rate(s["social_share"])),
        ("Brand impact", ""),
        ("  impressions", f"{b['impressions']:,}"),
        ("  reach", f"{b['reach']:,}"),
        ("  engagement", f"{b['engagement']:,}"),
        ("  engagement rate", _fmt_rate(b["engagement_rate"])),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}".rstrip() for label, value in rows)
