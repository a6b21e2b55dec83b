"""`rapport report monthly`: one self-contained HTML file (inline SVG charts) to forward."""

from __future__ import annotations

import calendar
import datetime as dt
import html
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from services.common.config import get_settings
from services.common.i18n import Speaker, speaker
from services.common.period import Period
from services.common.schema import Moment
from services.common.vocabulary import network_label
from services.reports import completeness, quality, queries, value
from services.reports import formatting as fmt
from services.reports.figures import (
    brand_figures,
    moment_breakdown,
    support_figures,
    traffic_light,
    weekly_brand,
    weekly_support,
)
from services.reports.summary import summary

AXIS_TEXT = 'font-size="12" fill="#5b6478"'
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1d2330; max-width: 820px;
       margin: 2rem auto; padding: 0 1rem; }
h1 { margin-bottom: 0; } .sub { color: #5b6478; margin-top: .2rem; }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; margin: 1.5rem 0; }
.card { border: 1px solid #dde2ea; border-radius: 10px; padding: .8rem 1rem; }
.card h2 { font-size: 1rem; margin: 0 0 .4rem; } .big { font-size: 1.6rem; font-weight: 700; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #dde2ea; padding: .35rem .5rem; text-align: left; }
.light { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%;
         margin-right: .4rem; vertical-align: middle; }
figure { margin: 1.5rem 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
h2, h3 { break-after: avoid; } table { break-inside: avoid; }
svg { width: 100%; height: auto; }
@media print { body { margin: 0; } }
"""
LIGHT_COLOURS = {"green": "#1f7a4d", "amber": "#b7791f", "red": "#b42318", "grey": "#8a94a6"}


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str,
    line: Sequence[float] | None = None,
) -> str:
    """An accessible inline SVG bar chart (optional line, e.g. the goal's pace)."""
    width, height, pad = 720, 240, 40
    top = max([*values, *(line or []), 1])
    step = (width - 2 * pad) / max(len(values), 1)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / top

    parts = [
        f"<figure><figcaption>{html.escape(title)} ({html.escape(unit)})</figcaption>",
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#8a94a6"/>',
        f'<text x="{pad}" y="{pad - 10}" {AXIS_TEXT}>max {top:,.0f}</text>',
    ]
    for i, (label, amount) in enumerate(zip(labels, values, strict=True)):
        parts.append(
            f'<rect x="{pad + i * step:.1f}" y="{y(amount):.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{height - pad - y(amount):.1f}" fill="#3056d3"><title>{html.escape(label)}: '
            f"{amount:,.0f} {html.escape(unit)}</title></rect>"
        )
    if line:
        points = " ".join(f"{pad + (i + 0.5) * step:.1f},{y(v):.1f}" for i, v in enumerate(line))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#b42318" stroke-width="2">'
            "<title>goal pace</title></polyline>"
        )
    if labels:
        parts.append(
            f'<text x="{pad}" y="{height - 12}" {AXIS_TEXT}>{html.escape(labels[0])}</text>'
        )
        parts.append(
            f'<text x="{width - pad}" y="{height - 12}" {AXIS_TEXT} text-anchor="end">'
            f"{html.escape(labels[-1])}</text>"
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _goal_row(metric: str, goal: dict[str, Any]) -> str:
    pace = fmt.percent(goal["pace"])
    colour = LIGHT_COLOURS[traffic_light(goal["pace"])]
    return (
        f"<tr><td>{html.escape(fmt.label(metric))}</td>"
        f"<td>{fmt.metric(metric, goal['actual'])}</td>"
        f"<td>{fmt.metric(metric, goal['target'])}</td>"
        f"<td><span class=light style='background:{colour}'></span>{pace}</td>"
        f"<td>{fmt.metric(metric, goal['projected_year_end'])}</td></tr>"
    )


def _moment_item(row: dict[str, Any]) -> str:
    people = ", ".join(Moment.decode_list(str(row["people"])))
    return (
        f"<li>{html.escape(str(row['occurred_on'])[:10])} · "
        f"{html.escape(network_label(str(row['network'])))} · "
        f"{html.escape(people)}: {html.escape(str(row['change']))}</li>"
    )


def month_end(month: str, tz: ZoneInfo) -> dt.date:
    try:
        year, number = (int(part) for part in month.split("-"))
        last = dt.date(year, number, calendar.monthrange(year, number)[1])
    except (ValueError, calendar.IllegalMonthError):
        raise ValueError(f"--month {month!r} is not a month like 2026-03") from None
    today = dt.datetime.now(tz).date()
    if last.replace(day=1) > today:
        raise ValueError(f"--month {month} has not started yet")
    return min(last, today)


# The month's own figures, in the order the report shows them: (key, label, kind of change).
MONTH_ROWS = (
    ("conversations", "Support conversations", "count"),
    ("responded_within_1h_rate", "Answered within 1 h", "rate"),
    ("median_first_response_s", "Median first response", "time"),
    ("impressions", "Impressions", "count"),
    ("reach", "Reach", "count"),
    ("engagement", "Engagement", "count"),
    ("engagement_rate", "Engagement rate", "rate"),
    ("moments", "Meaningful moments", "count"),
)


def month_figures(engine: Engine, first: dt.date, last: dt.date, tz: ZoneInfo) -> dict[str, Any]:
    """The figures of the days first..last alone (one month), computed as the year's are: the
    conversations that started in it, the interactions of its days, its moments."""
    period = Period.of(last.year, last, tz)
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC).replace(tzinfo=None)
    facts = [c for c in queries.conversations(engine, period) if c.first_inbound_at >= start]
    totals: dict[str, int] = {}
    for day, kind, count in queries.daily_by_kind(engine, period):
        if day >= first:
            totals[kind] = totals.get(kind, 0) + count
    moments = [m for m in queries.moments(engine, period) if m.occurred_on >= first]
    return {
        **support_figures(facts, period),
        **brand_figures(totals),
        "moments": len(moments),
    }


def change(key: str, kind: str, now: Any, before: Any, against: str) -> str:
    """The change against another month in words and an arrow: counts in per cent, rates in
    percentage points, times in minutes."""
    if now is None or before is None:
        return f"no figure for {against}"
    if kind == "rate":
        points = (now - before) * 100
        if abs(points) < 0.05:
            return f"= as in {against}"
        return f"{'↑' if points > 0 else '↓'} {abs(points):.1f} points on {against}"
    if kind == "time":
        minutes = (now - before) / 60
        if abs(minutes) < 0.5:
            return f"= as in {against}"
        return f"{'↑' if minutes > 0 else '↓'} {fmt.duration(abs(now - before))} on {against}"
    if not before:
        return f"none in {against}" if not now else f"↑ from none in {against}"
    ratio = (now - before) / before
    if abs(ratio) < 0.005:
        return f"= as in {against}"
    return f"{'↑' if ratio > 0 else '↓'} {abs(ratio) * 100:,.0f} % on {against}"


def _month_section(engine: Engine, as_of: dt.date, tz: ZoneInfo) -> str:
    """The month first: its own figures, against the month before and the same month a year
    earlier, in words and arrows."""
    first = as_of.replace(day=1)
    previous_last = first - dt.timedelta(days=1)
    year_before = dt.date(first.year - 1, first.month, 1)
    year_before_last = year_before.replace(
        day=calendar.monthrange(year_before.year, year_before.month)[1]
    )
    now = month_figures(engine, first, as_of, tz)
    before = month_figures(engine, previous_last.replace(day=1), previous_last, tz)
    a_year_ago = month_figures(engine, year_before, year_before_last, tz)
    name = f"{calendar.month_name[first.month]} {first.year}"
    last_month = f"{calendar.month_name[previous_last.month]} {previous_last.year}"
    last_year = f"{calendar.month_name[year_before.month]} {year_before.year}"
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td><b>{html.escape(fmt.metric(key, now[key]))}</b></td>"
        f"<td>{html.escape(change(key, kind, now[key], before[key], last_month))}</td>"
        f"<td>{html.escape(change(key, kind, now[key], a_year_ago[key], last_year))}</td></tr>"
        for key, label, kind in MONTH_ROWS
    )
    upto = (
        ""
        if as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]
        else (f" (to {fmt.day(as_of)})")
    )
    return (
        f"<h2>{html.escape(name)}{html.escape(upto)}</h2><table><thead><tr><th></th>"
        f"<th>{html.escape(calendar.month_name[first.month])}</th><th>Against the month before</th>"
        "<th>Against a year before</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _money_section(engine: Engine, data: dict[str, Any]) -> str:
    """What social earned, with every assumption beside the money."""
    money = data["value"]
    model = value.load(engine, data["year"])
    if money is None or model is None:
        return (
            "<h2>What social earned</h2><p>No value model for this year yet: "
            "<code>rapport value set --year YEAR --cost-per-email-contact X ...</code></p>"
        )
    c = money["currency"]
    roi = fmt.percent(money["roi"])
    parts = [
        (label, value.money(money[key], c, whole=True))
        for label, key in (
            ("Total value", "total_value"),
            ("Support savings (support moved off email)", "support_savings"),
            ("Earned media (impressions and clicks at paid rates)", "earned_media_value"),
            ("Meaningful moments", "moments_value"),
            ("Programme cost to date", "program_cost_to_date"),
        )
    ]
    parts += [
        ("Return on the programme, modelled: (total value - cost to date) / cost to date", roi),
        (
            f"Revenue from social (orders and key events, in {c} only)",
            value.money(money["attributed_revenue"], c, whole=True),
        ),
        (
            "Return on the programme, measured: "
            "(revenue from social - cost to date) / cost to date",
            fmt.percent(money["measured_roi"]),
        ),
    ]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in parts)
    assumed = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in value.assumptions(model)
    )
    return (
        "<h2>What social earned</h2><table><tbody>" + rows + "</tbody></table>"
        "<h3>Assumptions</h3><table><tbody>" + assumed + "</tbody></table>"
    )


def _outcomes_section(data: dict[str, Any]) -> str:
    """Audience, the funnel, revenue per currency, moments that led to a purchase, campaigns."""
    a, o, m = data["audience"], data["outcomes"], data["moments"]
    growth = (
        f"{fmt.number(a['net_growth'])} since 1 January ({fmt.rate(a['growth_rate'])})"
        if a["net_growth"] is not None
        else fmt.NONE
    )
    parts = [
        ("Followers", fmt.number(a["followers"])),
        ("Net follower growth", growth),
        ("Visits from social", f"{o['visits']:,}"),
        ("Leads", f"{o['leads']:,} ({fmt.rate(o['lead_rate'])} of visits)"),
        ("Conversions", f"{o['conversions']:,} ({fmt.rate(o['conversion_rate'])} of visits)"),
        ("Revenue from social", fmt.amounts(o["revenue"])),
        ("Conversions within 90 days of a moment",
         f"{m['influenced_conversions']:,} · {fmt.amounts(m['influenced_revenue'])}"),
    ]  # fmt: skip
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in parts)
    campaigns = "".join(
        f"<tr><td>{html.escape(c['campaign'])}</td><td>{c['visits']:,}</td>"
        f"<td>{c['conversions']:,}</td><td>{html.escape(fmt.amounts(c['revenue']))}</td></tr>"
        for c in o["campaigns"][:5]
    )
    table = (
        "<h3>Top campaigns</h3><table><thead><tr><th>Campaign</th><th>Visits</th>"
        f"<th>Conversions</th><th>Revenue</th></tr></thead><tbody>{campaigns}</tbody></table>"
        if campaigns
        else ""
    )
    return "<h2>Outcomes from social</h2><table><tbody>" + rows + "</tbody></table>" + table


def report_speaker() -> Speaker:
    """The language of the quality cards: REPORT_LANGUAGE, else RAPPORT_LANGUAGE."""
    settings = get_settings()
    return speaker(settings.report_language or settings.rapport_language)


def render(engine: Engine, *, month: str, tz: ZoneInfo, group_id: str) -> str:
    """The report for `month`: year to date as of its last day (or today, in the month)."""
    as_of = month_end(month, tz)
    period = Period.of(as_of.year, as_of, tz)
    data = summary(engine, year=as_of.year, as_of=as_of, tz=tz, group_id=group_id)
    support_weeks = weekly_support(queries.conversations(engine, period), period)
    brand_weeks = weekly_brand(queries.daily_by_kind(engine, period), period)
    moments = moment_breakdown(queries.moments(engine, period), period)
    recent = queries.recent_moments(engine, as_of.replace(day=1), as_of, limit=8)
    goal = data["goals"].get("impressions")
    pace_line = None
    if goal:
        weekly_target = goal["target"] / 52
        pace_line = [weekly_target * (i + 1) for i in range(len(brand_weeks))]
    s, b, m = data["support"], data["brand"], data["moments"]
    goal_rows = "".join(_goal_row(metric, g) for metric, g in data["goals"].items()) or (
        "<tr><td colspan=5>No goals set yet: "
        "<code>rapport goals set --year YEAR --metric METRIC --target N</code></td></tr>"
    )
    moment_items = "".join(_moment_item(r) for r in recent) or (
        "<li>No moments logged for this month.</li>"
    )
    title = f"Rapport · {calendar.month_name[as_of.month]} {as_of.year}"
    weeks = [fmt.week(w["week"]) for w in brand_weeks]
    charts = [
        bar_chart(weeks, [w["impressions"] for w in brand_weeks],
                  title="Impressions per week", unit="impressions"),
        bar_chart(weeks, [w["cumulative_impressions"] for w in brand_weeks],
                  title="Cumulative impressions against the yearly goal", unit="impressions",
                  line=pace_line),
        bar_chart([fmt.week(w["week"]) for w in support_weeks],
                  [(w["median_first_response_s"] or 0) / 60 for w in support_weeks],
                  title="Median first response per week", unit="minutes"),
        bar_chart([fmt.month(m) for m in moments["per_month"]],
                  list(moments["per_month"].values()),
                  title="Moments per month", unit="moments"),
    ]  # fmt: skip
    cards = [
        ("Customer-support impact", fmt.rate(s["responded_within_1h_rate"]),
         f"answered within 1 h · {s['conversations']:,} conversations · median first "
         f"response {fmt.duration(s['median_first_response_s'])} "
         f"({fmt.duration(s['median_first_response_business_s'])} in business hours) · "
         f"first-response SLA met {fmt.rate(s['first_response_sla_met_rate'])} "
         f"({s['sla_breaches']:,} breaches) · social share {fmt.rate(s['social_share'])}"),
        ("Brand impact", f"{b['impressions']:,}",
         f"impressions · reach {b['reach']:,} · engagement {b['engagement']:,} "
         f"({fmt.rate(b['engagement_rate'])})"),
        ("Meaningful moments", f"{m['count']:,}",
         f"moments · {m['existing_customer']:,} with existing customers"),
        *quality.report_cards(data, report_speaker()),
    ]  # fmt: skip
    card_html = "".join(
        f'<div class="card"><h2>{name}</h2><div class="big">{big}</div>{text}</div>'
        for name, big, text in cards
    )
    return "\n".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="sub">The month first, then the year to date as of {fmt.day(as_of)} '
            f"(times in {html.escape(str(tz))}).</p>",
            _month_section(engine, as_of, tz),
            f"<h2>{as_of.year} to date</h2>",
            f'<div class="cards">{card_html}</div>',
            f'<p class="sub">{html.escape(completeness.line(data["completeness"]))}.</p>',
            _outcomes_section(data),
            _money_section(engine, data),
            "<h2>Goals</h2><table><thead><tr><th>Metric</th><th>Actual</th><th>Target</th>"
            "<th>Pace</th><th>Projected year end</th></tr></thead>"
            f"<tbody>{goal_rows}</tbody></table>",
            *charts,
            f"<h2>Moments in {calendar.month_name[as_of.month]}</h2><ul>{moment_items}</ul>",
            "</body></html>",
        ]
    )
