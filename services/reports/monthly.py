"""`rapport report monthly`: one self-contained HTML file (inline SVG charts) to forward."""

from __future__ import annotations

import calendar
import datetime as dt
import html
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from services.common import i18n
from services.common.i18n import N_, Speaker
from services.domain.period import Period
from services.domain.tables import Moment
from services.reports import completeness, quality, queries, value
from services.reports import formatting as fmt
from services.reports.figures import (
    brand_figures,
    moment_breakdown,
    support_figures,
    traffic_light,
    week_in_period,
    weekly_brand,
    weekly_support,
)
from services.reports.report_html import (
    PAPER,
    STYLE,
    bar_chart,
    cash,
    month_alone,
    month_name,
    rows_of,
)
from services.reports.summary import summary

LIGHT_COLOURS = {"green": "#1f7a4d", "amber": "#b7791f", "red": "#b42318", "grey": "#8a94a6"}


def _goal_row(metric: str, goal: dict[str, Any], sp: Speaker) -> str:
    pace = fmt.percent(goal["pace"], sp)
    colour = LIGHT_COLOURS[traffic_light(goal["pace"])]
    return (
        f"<tr><td>{html.escape(fmt.label(metric, sp))}</td>"
        f"<td>{fmt.metric(metric, goal['actual'], sp)}</td>"
        f"<td>{fmt.metric(metric, goal['target'], sp)}</td>"
        f"<td><span class=light style='background:{colour}'></span>{pace}</td>"
        f"<td>{fmt.metric(metric, goal['projected_year_end'], sp)}</td></tr>"
    )


def _moment_item(row: dict[str, Any], sp: Speaker) -> str:
    """A moment: its day, network, people and what changed (the people's own words, isolated
    so a name in another script keeps its order)."""
    people = ", ".join(Moment.decode_list(str(row["people"])))
    day = dt.date.fromisoformat(str(row["occurred_on"])[:10])
    return (
        f"<li>{html.escape(fmt.day(day, sp))} · "
        f"{html.escape(fmt.network(str(row['network']), sp))} · "
        f"<bdi>{html.escape(people)}</bdi>: <bdi>{html.escape(str(row['change']))}</bdi></li>"
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
    ("conversations", N_("Support conversations"), "count"),
    ("responded_within_1h_rate", N_("Answered within 1 h"), "rate"),
    ("median_first_response_s", N_("Median first response"), "time"),
    ("impressions", N_("Impressions"), "count"),
    ("reach", N_("Reach"), "count"),
    ("engagement", N_("Engagement"), "count"),
    ("engagement_rate", N_("Engagement rate"), "rate"),
    ("moments", N_("Meaningful moments"), "count"),
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


def change(key: str, kind: str, now: Any, before: Any, against: str, sp: Speaker = fmt.EN) -> str:
    """The change against another month in words and an arrow: counts in per cent, rates in
    percentage points, times in minutes."""
    if now is None or before is None:
        return sp._("no figure for {month}", month=against)
    same = sp._("= as in {month}", month=against)
    if kind == "rate":
        points = (now - before) * 100
        if abs(points) < 0.05:
            return same
        amount = sp.number(abs(points), 1)
        return f"{'↑' if points > 0 else '↓'} " + sp._(
            "{points} points on {month}", points=amount, month=against
        )
    if kind == "time":
        minutes = (now - before) / 60
        if abs(minutes) < 0.5:
            return same
        amount = fmt.duration(abs(now - before), sp)
        return f"{'↑' if minutes > 0 else '↓'} " + sp._(
            "{amount} on {month}", amount=amount, month=against
        )
    if not before:
        if not now:
            return sp._("none in {month}", month=against)
        return "↑ " + sp._("from none in {month}", month=against)
    ratio = (now - before) / before
    if abs(ratio) < 0.005:
        return same
    amount = fmt.percent(abs(ratio), sp)
    return f"{'↑' if ratio > 0 else '↓'} " + sp._(
        "{amount} on {month}", amount=amount, month=against
    )


def _month_section(engine: Engine, as_of: dt.date, tz: ZoneInfo, sp: Speaker) -> str:
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
    name = month_name(first, sp)
    last_month = month_name(previous_last.replace(day=1), sp)
    last_year = month_name(year_before, sp)
    rows = "".join(
        f"<tr><td>{html.escape(sp._(label))}</td>"
        f"<td><b>{html.escape(fmt.metric(key, now[key], sp))}</b></td>"
        f"<td>{html.escape(change(key, kind, now[key], before[key], last_month, sp))}</td>"
        f"<td>{html.escape(change(key, kind, now[key], a_year_ago[key], last_year, sp))}</td></tr>"
        for key, label, kind in MONTH_ROWS
    )
    upto = (
        ""
        if as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]
        else " " + sp._("(to {day})", day=fmt.day(as_of, sp))
    )
    alone = month_alone(first, sp)
    against_before, against_year = sp._("Against the month before"), sp._("Against a year before")
    return (
        f"<h2>{html.escape(name)}{html.escape(upto)}</h2><table><thead><tr><th></th>"
        f"<th>{html.escape(alone)}</th><th>{html.escape(against_before)}</th>"
        f"<th>{html.escape(against_year)}</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _money_section(engine: Engine, data: dict[str, Any], sp: Speaker) -> str:
    """What social earned, with every assumption beside the money."""
    money = data["value"]
    model = value.load(engine, data["year"])
    earned = html.escape(sp._("What social earned"))
    if money is None or model is None:
        return (
            f"<h2>{earned}</h2><p>"
            + html.escape(sp._("No value model for this year yet:"))
            + " <code>rapport value set --year YEAR --cost-per-email-contact X ...</code></p>"
        )
    c = money["currency"]
    roi = fmt.percent(money["roi"], sp)
    parts = [
        (sp._(label), cash(money[key], c, sp))
        for label, key in (
            (N_("Total value"), "total_value"),
            (N_("Support savings (support moved off email)"), "support_savings"),
            (N_("Earned media (impressions and clicks at paid rates)"), "earned_media_value"),
            (N_("Meaningful moments"), "moments_value"),
            (N_("Programme cost to date"), "program_cost_to_date"),
        )
    ]
    parts += [
        (
            sp._("Return on the programme, modelled: (total value - cost to date) / cost to date"),
            roi,
        ),
        (
            sp._("Revenue from social (orders and key events, in {currency} only)", currency=c),
            cash(money["attributed_revenue"], c, sp),
        ),
        (
            sp._(
                "Return on the programme, measured: "
                "(revenue from social - cost to date) / cost to date"
            ),
            fmt.percent(money["measured_roi"], sp),
        ),
    ]
    assumptions = sp._("Assumptions")
    assumed = [
        (sp._(value.LABELS[name]), cash(getattr(model, name), model.currency, sp, whole=False))
        for name in value.AMOUNTS
    ]
    return (
        f"<h2>{earned}</h2><table><tbody>{rows_of(parts)}</tbody></table>"
        f"<h3>{html.escape(assumptions)}</h3><table><tbody>{rows_of(assumed)}</tbody></table>"
    )


def _outcomes_section(data: dict[str, Any], sp: Speaker) -> str:
    """Audience, the funnel, revenue per currency, moments that led to a purchase, campaigns."""
    a, o, m = data["audience"], data["outcomes"], data["moments"]
    n = fmt.number
    growth = (
        sp._(
            "{count} since 1 January ({rate})",
            count=n(a["net_growth"], sp),
            rate=fmt.rate(a["growth_rate"], sp),
        )
        if a["net_growth"] is not None
        else fmt.NONE
    )

    def of_visits(count: int, share: float | None) -> str:
        return sp._("{count} ({rate} of visits)", count=n(count, sp), rate=fmt.rate(share, sp))

    parts = [
        (sp._("Followers"), n(a["followers"], sp)),
        (sp._("Net follower growth"), growth),
        (sp._("Visits from social"), n(o["visits"], sp)),
        (sp._("Leads"),
         of_visits(o["leads"], o["lead_rate"])),
        (sp._("Conversions"),
         of_visits(o["conversions"], o["conversion_rate"])),
        (sp._("Revenue from social"), fmt.amounts(o["revenue"], sp)),
        (sp._("Conversions within 90 days of a moment"),
         f"{n(m['influenced_conversions'], sp)} · {fmt.amounts(m['influenced_revenue'], sp)}"),
    ]  # fmt: skip
    campaigns = "".join(
        f"<tr><td>{html.escape(c['campaign'])}</td><td>{n(c['visits'], sp)}</td>"
        f"<td>{n(c['conversions'], sp)}</td>"
        f"<td>{html.escape(fmt.amounts(c['revenue'], sp))}</td></tr>"
        for c in o["campaigns"][:5]
    )
    heads = "".join(
        f"<th>{html.escape(sp._(h))}</th>"
        for h in (N_("Campaign"), N_("Visits"), N_("Conversions"), N_("Revenue"))
    )
    top, outcomes = sp._("Top campaigns"), sp._("Outcomes from social")
    table = (
        f"<h3>{html.escape(top)}</h3><table><thead><tr>{heads}</tr></thead>"
        f"<tbody>{campaigns}</tbody></table>"
        if campaigns
        else ""
    )
    return f"<h2>{html.escape(outcomes)}</h2><table><tbody>{rows_of(parts)}</tbody></table>" + table


def render(engine: Engine, *, month: str, tz: ZoneInfo, group_id: str, language: str = "en") -> str:
    """The report for `month` in `language`: year to date as of its last day (or today, in the
    month)."""
    sp = i18n.speaker(language)
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
    goal_rows = "".join(_goal_row(metric, g, sp) for metric, g in data["goals"].items()) or (
        "<tr><td colspan=5>"
        + html.escape(sp._("No goals set yet:"))
        + " <code>rapport goals set --year YEAR --metric METRIC --target N</code></td></tr>"
    )
    moment_items = "".join(_moment_item(r, sp) for r in recent) or (
        "<li>" + html.escape(sp._("No moments logged for this month.")) + "</li>"
    )
    title = f"Rapport · {month_name(as_of.replace(day=1), sp)}"
    # Each week by its first day in the year (1 January, not the Monday in December before);
    # a week the year's start or the as-of day cuts short is drawn lighter.
    brand_spans = [week_in_period(w["week"], period) for w in brand_weeks]
    support_spans = [week_in_period(w["week"], period) for w in support_weeks]
    weeks = [fmt.week_day(first, sp) for first, _cut in brand_spans]
    cut = [short for _first, short in brand_spans]
    impressions, minutes = sp._("impressions"), sp._("minutes")
    charts = [
        bar_chart(weeks, [w["impressions"] for w in brand_weeks],
                  title=sp._("Impressions per week"), unit=impressions, partial=cut, sp=sp),
        bar_chart(weeks, [w["cumulative_impressions"] for w in brand_weeks],
                  title=sp._("Cumulative impressions against the yearly goal"), unit=impressions,
                  line=pace_line, sp=sp),
        bar_chart([fmt.week_day(first, sp) for first, _cut in support_spans],
                  [(w["median_first_response_s"] or 0) / 60 for w in support_weeks],
                  title=sp._("Median first response per week"), unit=minutes,
                  partial=[short for _first, short in support_spans], sp=sp),
        bar_chart([fmt.month(m, sp) for m in moments["per_month"]],
                  list(moments["per_month"].values()),
                  title=sp._("Moments per month"), unit=sp._("moments"), sp=sp),
    ]  # fmt: skip
    n, rate, time = fmt.number, fmt.rate, fmt.duration
    cards = [
        (sp._("Customer-support impact"), rate(s["responded_within_1h_rate"], sp),
         sp._("answered within 1 h · {conversations} conversations · median first response "
              "{median} ({business} in business hours) · first-response SLA met {sla} "
              "({breaches} breaches) · social share {share}",
              conversations=n(s["conversations"], sp),
              median=time(s["median_first_response_s"], sp),
              business=time(s["median_first_response_business_s"], sp),
              sla=rate(s["first_response_sla_met_rate"], sp),
              breaches=n(s["sla_breaches"], sp), share=rate(s["social_share"], sp))),
        (sp._("Brand impact"), n(b["impressions"], sp),
         sp._("impressions · reach {reach} · engagement {engagement} ({rate})",
              reach=n(b["reach"], sp), engagement=n(b["engagement"], sp),
              rate=rate(b["engagement_rate"], sp))),
        (sp._("Meaningful moments"), n(m["count"], sp),
         sp._("moments · {count} with existing customers", count=n(m["existing_customer"], sp))),
        *quality.report_cards(data, sp),
    ]  # fmt: skip
    card_html = "".join(
        f'<div class="card"><h2>{html.escape(name)}</h2><div class="big"><bdi>{big}</bdi></div>'
        f"{html.escape(text)}</div>"
        for name, big, text in cards
    )
    heads = "".join(
        f"<th>{html.escape(sp._(h))}</th>"
        for h in (N_("Metric"), N_("Actual"), N_("Target"), N_("Pace"), N_("Projected year end"))
    )
    paper = PAPER.get(sp.language, "A4")
    to_date = sp._("{year} to date", year=sp.digits(str(as_of.year)))
    goals, moments_in = sp._("Goals"), sp._("Moments in {month}", month=month_alone(as_of, sp))
    return "\n".join(
        [
            f'<!doctype html><html lang="{sp.language}" dir="{sp.dir}">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title><style>{STYLE}"
            f"@page {{ size: {paper}; }}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            '<p class="sub">'
            + html.escape(
                sp._(
                    "The month first, then the year to date as of {day} (times in {timezone}).",
                    day=fmt.day(as_of, sp),
                    timezone=str(tz),
                )
            )
            + "</p>",
            _month_section(engine, as_of, tz, sp),
            f"<h2>{html.escape(to_date)}</h2>",
            f'<div class="cards">{card_html}</div>',
            f'<p class="sub">{html.escape(completeness.line(data["completeness"], sp))}.</p>',
            _outcomes_section(data, sp),
            _money_section(engine, data, sp),
            f"<h2>{html.escape(goals)}</h2><table><thead><tr>{heads}</tr></thead>"
            f"<tbody>{goal_rows}</tbody></table>",
            *charts,
            f"<h2>{html.escape(moments_in)}</h2><ul>{moment_items}</ul>",
            "</body></html>",
        ]
    )
