"""How people read the figures: one module for every page, CSV meant for people, the CLI table
and the monthly report. Labels for every metric, durations as "5 h 2 min", rates as "60.0 %",
thousands separators, dates as "3 Mar 2026" and weeks by their Monday ("3 Mar").

Each function takes the reader's Speaker (services/common/i18n.py), English by default: the
CLI and existing callers stay English; the pages and the report pass the reader's language."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from babel.dates import format_date
from babel.numbers import format_currency

from services.common.i18n import N_, Speaker, speaker
from services.domain.conversation_levels import UNASSIGNED
from services.domain.vocabulary import MOMENT_WORDS, network_label

EN = speaker("en")

NONE = "\u2013"  # a figure with no value yet: an en dash

LABELS = {
    # support
    "conversations": N_("Conversations"),
    "answered": N_("Answered"),
    "median_first_response_s": N_("Median first response"),
    "p90_first_response_s": N_("90th percentile first response"),
    "responded_within_1h_rate": N_("Answered within 1 h"),
    "median_resolution_s": N_("Median resolution"),
    "social_share": N_("Social share of support"),
    "median_first_response_business_s": N_("Median first response (business hours)"),
    "p90_first_response_business_s": N_("90th percentile first response (business hours)"),
    "median_resolution_business_s": N_("Median resolution (business hours)"),
    "first_response_sla_met_rate": N_("First-response SLA met"),
    "sla_breaches": N_("SLA breaches"),
    # brand
    "impressions": N_("Impressions"),
    "reach": N_("Reach"),
    "engagement": N_("Engagement"),
    "engagement_rate": N_("Engagement rate"),
    "cumulative_impressions": N_("Cumulative impressions"),
    # moments
    "moments": N_("Moments"),
    "existing_customer": N_("With existing customers"),
    "existing_customer_share": N_("Share with existing customers"),
    # value
    "support_savings": N_("Support savings"),
    "earned_media_value": N_("Earned media value"),
    "moments_value": N_("Moments value"),
    "total_value": N_("Total value"),
    "program_cost_to_date": N_("Programme cost to date"),
    "roi": N_("Return on the programme"),
    "attributed_revenue": N_("Revenue attributed to social"),
    "measured_roi": N_("Measured return on the programme"),
    # audience and outcomes
    "followers": N_("Followers"),
    "followers_at_start": N_("Followers on 1 January"),
    "net_growth": N_("Net follower growth"),
    "growth_rate": N_("Follower growth rate"),
    "new_follows": N_("New follows"),
    "visits": N_("Visits from social"),
    "leads": N_("Leads"),
    "conversions": N_("Conversions"),
    "lead_rate": N_("Lead rate"),
    "conversion_rate": N_("Conversion rate"),
    "revenue": N_("Revenue"),
    "campaign": N_("Campaign"),
    "influenced_conversions": N_("Conversions within 90 days of a moment"),
    "influenced_revenue": N_("Their revenue"),
    # breakdowns
    "network": N_("Network"),
    "account": N_("Account"),
    "agent": N_("Agent"),
    "week": N_("Week of"),
    "month": N_("Month"),
}
# Moment vocabulary as people say it (the moments site's own words), and the reports' groups.
WORDS = {
    **MOMENT_WORDS,
    "reactive": N_("Reactive (they wrote first)"),
    "proactive": N_("Proactive (we reached out)"),
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


def label(key: str, sp: Speaker = EN) -> str:
    """The human name of a metric or column (an unknown key reads as words)."""
    known = LABELS.get(key)
    return sp._(known) if known else key.replace("_", " ").capitalize()


def network(name: str, sp: Speaker = EN) -> str:
    """A network as the reader says it: brand names as the platforms write them, the common
    nouns (email, other) through the catalogs."""
    return sp._(network_label(name))


def agent(name: str, sp: Speaker = EN) -> str:
    """An agent as named in the data; an answer that named nobody in the reader's words."""
    return sp._(N_("unassigned")) if name == UNASSIGNED else name


def word(value: str, sp: Speaker = EN) -> str:
    known = WORDS.get(value)
    return sp._(known) if known else network_label(value)


def is_rate(key: str) -> bool:
    rates = ("roi", "measured_roi", "csat", "share_of_voice")
    return key.endswith("_rate") or key.endswith("_share") or key in rates


def is_duration(key: str) -> bool:
    return key.endswith("_s")


def duration(seconds: float | None, sp: Speaker = EN) -> str:
    """42 s · 18 min · 5 h 2 min · 3 d 4 h (rounded to the unit shown), the units in the
    reader's language (Turkish "5 sa 2 dk")."""
    if seconds is None or not math.isfinite(seconds):
        return NONE
    n = sp.number
    if seconds < 60:
        return sp._("{seconds} s", seconds=n(round(seconds)))
    minutes = round(seconds / 60)
    if minutes < 60:
        return sp._("{minutes} min", minutes=n(minutes))
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return sp._("{hours} h {minutes} min", hours=n(hours), minutes=n(minutes))
        return sp._("{hours} h", hours=n(hours))
    days, hours = divmod(hours, 24)
    if hours:
        return sp._("{days} d {hours} h", days=n(days), hours=n(hours))
    return sp._("{days} d", days=n(days))


def rate(value: float | None, sp: Speaker = EN) -> str:
    """60.0 % in English (the house style); the locale's own form elsewhere (Turkish "%60,0")."""
    if value is None:
        return NONE
    return f"{value * 100:.1f} %" if sp.language == "en" else sp.percent(value, 1)


def percent(value: float | None, sp: Speaker = EN) -> str:
    """A ratio as a whole percentage: a goal's pace (1.0 = on pace) or the return (2.5 = 250 %)."""
    if value is None:
        return NONE
    return f"{value * 100:,.0f} %" if sp.language == "en" else sp.percent(value, 0)


def number(value: float | None, sp: Speaker = EN) -> str:
    return NONE if value is None else sp.number(round(value))


def metric(key: str, value: float | None, sp: Speaker = EN) -> str:
    """A metric's value as people read it, by what the metric is."""
    if value is None:
        return NONE
    if is_rate(key):
        return rate(value, sp)
    if is_duration(key):
        return duration(value, sp)
    return number(value, sp)


def money(amount: float | None, currency: str, sp: Speaker = EN, *, whole: bool = False) -> str:
    """An amount in its currency as the reader's language writes it; `whole` drops the cents,
    as an executive reads totals."""
    if amount is None:
        return NONE
    return sp.money(round(amount) if whole else amount, currency, 0 if whole else None)


def amounts(by_currency: Mapping[str, float], sp: Speaker = EN, *, whole: bool = False) -> str:
    """Money in several currencies, each as people read it: "€1,234.50 · $99.00" ("€1,235 ·
    $99" `whole`, as an executive reads totals)."""
    if not by_currency:
        return NONE
    if whole:
        return " · ".join(money(a, c, sp, whole=True) for c, a in by_currency.items())
    if sp.language == "en":
        return " · ".join(
            format_currency(amount, currency, locale="en")
            for currency, amount in by_currency.items()
        )
    return " · ".join(sp.money(amount, currency) for currency, amount in by_currency.items())


def day(value: dt.date, sp: Speaker = EN) -> str:
    """3 Mar 2026 (Persian: the Jalali date, then the Gregorian one)."""
    return f"{value.day} {value:%b %Y}" if sp.language == "en" else sp.date(value, "long")


def week_start(iso_week: str) -> dt.date:
    """The Monday of an ISO week written 2026-W10."""
    year, week = iso_week.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def week(iso_week: str, sp: Speaker = EN) -> str:
    """A week by its Monday: 3 Mar (2026-W10)."""
    monday = week_start(iso_week)
    return f"{monday.day} {monday:%b}" if sp.language == "en" else sp.day_month(monday)


def month(value: str, sp: Speaker = EN) -> str:
    """A month written 2026-03 as people read it: Mar 2026."""
    year, number = value.split("-")
    first = dt.date(int(year), int(number), 1)
    return f"{first:%b %Y}" if sp.language == "en" else sp.month(first)


def month_name(value: dt.date, sp: Speaker = EN) -> str:
    """A month by its name alone, as a picker lists it: "March", "maaliskuu", "مارس"."""
    if sp.language == "en":
        return f"{value:%B}"
    return format_date(value, "LLLL", locale=sp.language)


def month_abbr(value: dt.date, sp: Speaker = EN) -> str:
    """A month on a chart's axis: "Mar", "maalis", "مارس"."""
    if sp.language == "en":
        return f"{value:%b}"
    return sp.digits(format_date(value, "LLL", locale=sp.language))


def week_day(value: dt.date, sp: Speaker = EN) -> str:
    """A day without its year, as the reader's language writes it: "4 Mar", "4. maalisk."."""
    return f"{value.day} {value:%b}" if sp.language == "en" else sp.day_month(value)


def weekdays(sp: Speaker = EN) -> list[str]:
    """Monday to Sunday, abbreviated as the reader's language does ("Mon", "ma", "دوشنبه")."""
    monday = dt.date(2026, 1, 5)
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    if sp.language == "en":
        return [f"{d:%a}" for d in days]
    return [format_date(d, "EEE", locale=sp.language) for d in days]


def cell(key: str, value: object, sp: Speaker = EN) -> str:
    """One table cell: a network by its name, a metric by its kind, anything else as text."""
    if value is None:
        return NONE
    if key == "network":
        return network(str(value), sp)
    if key == "agent":
        return agent(str(value), sp)
    if key == "week":
        return week(str(value), sp)
    if isinstance(value, int | float):
        return metric(key, float(value), sp)
    return str(value)


def for_people(
    rows: list[dict[str, object]],
    columns: list[str],
    names: dict[str, str] | None = None,
    sp: Speaker = EN,
) -> list[dict[str, str]]:
    """Rows as a table people read: labelled columns (`names`, marked texts, for a narrow
    table), formatted values."""
    heading = {c: sp._(n) if (n := (names or {}).get(c)) else label(c, sp) for c in columns}
    return [{heading[c]: cell(c, row.get(c), sp) for c in columns} for row in rows]


def csv_header(key: str, sp: Speaker = EN) -> str:
    """A CSV column for people, with its unit (minutes, %); the values stay numbers so a
    spreadsheet can sum and chart them."""
    if is_duration(key):
        return sp._("{label} (minutes)", label=label(key, sp))
    if is_rate(key):
        return sp._("{label} (%)", label=label(key, sp))
    return label(key, sp)


def csv_value(key: str, value: object, sp: Speaker = EN) -> object:
    """One CSV cell for people: minutes and percentages to one decimal, other fractions to two,
    weeks by their Monday's date, networks and moment words by their names."""
    if value is None:
        return None
    if key == "network":
        return network(str(value), sp)
    if key == "agent":
        return agent(str(value), sp)
    if key == "week":
        return week_start(str(value)).isoformat()
    if isinstance(value, str):
        return word(value, sp) if value in WORDS else value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if is_duration(key):
        return round(value / 60, 1)
    if is_rate(key):
        return round(value * 100, 1)
    return round(value, 2) if isinstance(value, float) else value


def for_csv(
    rows: list[dict[str, object]], columns: list[str], sp: Speaker = EN
) -> list[dict[str, object]]:
    """Rows as a CSV for people (`csv_header`, `csv_value`); the API's CSVs are the
    machine-readable ones (field names, seconds, ratios from 0 to 1)."""
    return [{csv_header(c, sp): csv_value(c, row.get(c), sp) for c in columns} for row in rows]


_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9}
# Arabic (U+0660...) and Persian (U+06F0...) digits and the Arabic thousands and decimal
# separators as the Latin ones: a Persian or Arabic keyboard types them.
_TYPED = str.maketrans(
    {chr(0x0660 + d): str(d) for d in range(10)}
    | {chr(0x06F0 + d): str(d) for d in range(10)}
    | {"\u066c": ",", "\u066b": "."}
)


def typed(value: float) -> str:
    """A stored amount as a form shows it to edit: thousands separators, cents only when there
    are some ("120,000", "2.50"), in Latin digits in every language, as parse_amount reads it."""
    text = f"{value:,.2f}"
    return text.removesuffix(".00")


def parse_amount(text: str) -> float | None:
    """A number as people type it: "55,000,000", "55 000 000", "55M", "2.5k", "60", in Arabic or
    Persian digits and separators too (None when empty); ValueError saying what is wrong
    otherwise."""
    cleaned = text.strip().translate(_TYPED)
    cleaned = cleaned.replace(",", "").replace(" ", "").replace("_", "").replace("\u00a0", "")
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
