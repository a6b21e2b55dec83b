"""How people read the figures: one module for every page, CSV meant for people, the CLI table
and the monthly report. Labels for every metric, durations as "5 h 2 min", rates as "60.0 %",
thousands separators, dates as "3 Mar 2026" and weeks by their Monday ("3 Mar")."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from babel.numbers import format_currency

from services.common.i18n import N_
from services.common.vocabulary import MOMENT_WORDS, network_label

NONE = "\u2013"  # a figure with no value yet: an en dash

LABELS = {
    # support
    "conversations": "Conversations",
    "answered": "Answered",
    "median_first_response_s": "Median first response",
    "p90_first_response_s": "90th percentile first response",
    "responded_within_1h_rate": "Answered within 1 h",
    "median_resolution_s": "Median resolution",
    "social_share": "Social share of support",
    "median_first_response_business_s": "Median first response (business hours)",
    "p90_first_response_business_s": "90th percentile first response (business hours)",
    "median_resolution_business_s": "Median resolution (business hours)",
    "first_response_sla_met_rate": "First-response SLA met",
    "sla_breaches": "SLA breaches",
    # brand
    "impressions": "Impressions",
    "reach": "Reach",
    "engagement": "Engagement",
    "engagement_rate": "Engagement rate",
    "cumulative_impressions": "Cumulative impressions",
    # moments
    "moments": "Moments",
    "existing_customer": "With existing customers",
    "existing_customer_share": "Share with existing customers",
    # value
    "support_savings": "Support savings",
    "earned_media_value": "Earned media value",
    "moments_value": "Moments value",
    "total_value": "Total value",
    "program_cost_to_date": "Programme cost to date",
    "roi": "Return on the programme",
    "attributed_revenue": "Revenue attributed to social",
    "measured_roi": "Measured return on the programme",
    # audience and outcomes
    "followers": "Followers",
    "followers_at_start": "Followers on 1 January",
    "net_growth": "Net follower growth",
    "growth_rate": "Follower growth rate",
    "new_follows": "New follows",
    "visits": "Visits from social",
    "leads": "Leads",
    "conversions": "Conversions",
    "lead_rate": "Lead rate",
    "conversion_rate": "Conversion rate",
    "revenue": "Revenue",
    "campaign": "Campaign",
    "influenced_conversions": "Conversions within 90 days of a moment",
    "influenced_revenue": "Their revenue",
    # breakdowns
    "network": "Network",
    "account": "Account",
    "agent": "Agent",
    "week": "Week of",
    "month": "Month",
}
# Moment vocabulary as people say it (the moments site's own words), and the reports' groups.
WORDS = {
    **MOMENT_WORDS,
    "reactive": "Reactive (they wrote first)",
    "proactive": "Proactive (we reached out)",
}


# Response quality and share of voice (docs/figures.md#response-quality-and-share-of-voice).
LABELS |= {
    "csat": N_("CSAT"),
    "csat_average": N_("Average rating"),
    "csat_responses": N_("Ratings"),
    "csat_response_rate": N_("Rating response rate"),
    "reopened": N_("Reopened"),
    "reopen_rate": N_("Reopen rate"),
    "share_of_voice": N_("Share of voice"),
    "competitor_mentions": N_("Competitor mentions"),
}


def label(key: str) -> str:
    """The human name of a metric or column (an unknown key reads as words)."""
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def word(value: str) -> str:
    return WORDS.get(value) or network_label(value)


def is_rate(key: str) -> bool:
    rates = ("roi", "measured_roi", "csat", "share_of_voice")
    return key.endswith("_rate") or key.endswith("_share") or key in rates


def is_duration(key: str) -> bool:
    return key.endswith("_s")


def duration(seconds: float | None) -> str:
    """42 s · 18 min · 5 h 2 min · 3 d 4 h (rounded to the unit shown)."""
    if seconds is None or not math.isfinite(seconds):
        return NONE
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


def percent(value: float | None) -> str:
    """A ratio as a whole percentage: a goal's pace (1.0 = on pace) or the return (2.5 = 250 %)."""
    return NONE if value is None else f"{value * 100:,.0f} %"


def number(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def metric(key: str, value: float | None) -> str:
    """A metric's value as people read it, by what the metric is."""
    if value is None:
        return NONE
    if is_rate(key):
        return rate(value)
    if is_duration(key):
        return duration(value)
    return number(value)


def amounts(by_currency: Mapping[str, float]) -> str:
    """Money in several currencies, each as people read it: "€1,234.50 · $99.00"."""
    if not by_currency:
        return NONE
    return " · ".join(
        format_currency(amount, currency, locale="en") for currency, amount in by_currency.items()
    )


def day(value: dt.date) -> str:
    """3 Mar 2026."""
    return f"{value.day} {value:%b %Y}"


def week_start(iso_week: str) -> dt.date:
    """The Monday of an ISO week written 2026-W10."""
    year, week = iso_week.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def week(iso_week: str) -> str:
    """A week by its Monday: 3 Mar (2026-W10)."""
    monday = week_start(iso_week)
    return f"{monday.day} {monday:%b}"


def month(value: str) -> str:
    """A month written 2026-03 as people read it: Mar 2026."""
    year, number = value.split("-")
    return f"{dt.date(int(year), int(number), 1):%b %Y}"


def cell(key: str, value: object) -> str:
    """One table cell: a network by its name, a metric by its kind, anything else as text."""
    if value is None:
        return NONE
    if key == "network":
        return network_label(str(value))
    if key == "week":
        return week(str(value))
    if isinstance(value, int | float):
        return metric(key, float(value))
    return str(value)


def for_people(
    rows: list[dict[str, object]], columns: list[str], names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Rows as a table people read: labelled columns (`names` for a narrow table), formatted
    values."""
    heading = {c: (names or {}).get(c) or label(c) for c in columns}
    return [{heading[c]: cell(c, row.get(c)) for c in columns} for row in rows]


def csv_header(key: str) -> str:
    """A CSV column for people, with its unit (minutes, %); the values stay numbers so a
    spreadsheet can sum and chart them."""
    if is_duration(key):
        return f"{label(key)} (minutes)"
    if is_rate(key):
        return f"{label(key)} (%)"
    return label(key)


def csv_value(key: str, value: object) -> object:
    """One CSV cell for people: minutes and percentages to one decimal, other fractions to two,
    weeks by their Monday's date, networks and moment words by their names."""
    if value is None:
        return None
    if key == "network":
        return network_label(str(value))
    if key == "week":
        return week_start(str(value)).isoformat()
    if isinstance(value, str):
        return WORDS.get(value, value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if is_duration(key):
        return round(value / 60, 1)
    if is_rate(key):
        return round(value * 100, 1)
    return round(value, 2) if isinstance(value, float) else value


def for_csv(rows: list[dict[str, object]], columns: list[str]) -> list[dict[str, object]]:
    """Rows as a CSV for people (`csv_header`, `csv_value`); the API's CSVs are the
    machine-readable ones (field names, seconds, ratios from 0 to 1)."""
    return [{csv_header(c): csv_value(c, row.get(c)) for c in columns} for row in rows]


_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9}


def parse_amount(text: str) -> float | None:
    """A number as people type it: "55,000,000", "55 000 000", "55M", "2.5k", "60" (None when
    empty); ValueError saying what is wrong otherwise."""
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "").replace("\u00a0", "")
    if not cleaned:
        return None
    scale = _SCALES.get(cleaned[-1].lower(), 1.0)
    number = cleaned[:-1] if scale != 1.0 else cleaned
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number (e.g. 55,000,000 or 55M)") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text.strip()!r}: give a number of 0 or more")
    return value
