"""`rapport summary`: the year's figures as the JSON of docs/figures.md, or a table."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from services.domain.period import Period
from services.reports import completeness, listening, outcome_queries, outcomes, queries, value
from services.reports import formatting as fmt
from services.reports.figures import (
    brand_figures,
    goal_progress,
    moment_figures,
)


def summary(
    engine: Engine,
    *,
    year: int,
    as_of: dt.date | None,
    tz: ZoneInfo,
    network: str | None = None,
    account: str | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """The figures; with the consumer's `group_id`, also what they rest on (`completeness`)."""
    period = Period.of(year, as_of, tz)
    support = queries.support(engine, period, network=network, account=account)
    totals = queries.kind_totals(engine, period, network=network, account=account)
    brand = brand_figures(totals)
    # Moments belong to a network but not to one of the brand's accounts.
    moments = moment_figures(queries.moments(engine, period, network=network), period)
    audience, results = outcome_blocks(engine, period, totals, network=network, account=account)
    moments |= influenced(engine, period, network=network, account=account)
    heard = listening.listening(engine, period, network=network, account=account)
    model = value.load(engine, year)
    money = None
    if model is not None:
        money = value.of_summary(
            model,
            support=support,
            brand=brand,
            moments=moments,
            clicks=int(totals.get("click", 0)),
            period=period,
            revenue=results["revenue"],
        )
    actuals = {
        "impressions": brand["impressions"],
        "reach": brand["reach"],
        "engagement": brand["engagement"],
        "moments": moments["count"],
        "responded_within_1h_rate": support["responded_within_1h_rate"],
        "median_first_response_s": support["median_first_response_s"],
        "social_share": support["social_share"],
        "first_response_sla_met_rate": support["first_response_sla_met_rate"],
        "median_first_response_business_s": support["median_first_response_business_s"],
        "csat": support["csat"],
        "reopen_rate": support["reopen_rate"],
        "share_of_voice": heard["share_of_voice"],
        **{
            name: money[name] if money else None
            for name in ("support_savings", "earned_media_value", "total_value")
        },
        "net_growth": audience["net_growth"],
        "visits": results["visits"],
        "leads": results["leads"],
        "conversions": results["conversions"],
        # In the value model's currency, else USD: goals hold one number, not one per currency.
        "revenue": results["revenue"].get(model.currency if model else "USD", 0.0),
        "conversion_rate": results["conversion_rate"],
    }
    # Goals are company-wide targets: a network's or account's slice is not held against them.
    goals = (
        {}
        if network or account
        else {
            metric: goal_progress(metric, target, actuals[metric], period)
            for metric, target in sorted(queries.goals(engine, year).items())
            if metric in actuals
        }
    )
    out: dict[str, Any] = {
        "year": year,
        "as_of": period.as_of.isoformat(),
        "support": support,
        "brand": brand,
        "moments": moments,
        "audience": audience,
        "outcomes": results,
        "listening": heard,
        "value": money,
        "goals": goals,
    }
    if group_id is not None:
        found = completeness.read(
            engine, period, group_id=group_id, network=network, account=account
        )
        out["completeness"] = found.as_dict()
    return out


def outcome_blocks(
    engine: Engine,
    period: Period,
    totals: dict[str, int],
    *,
    network: str | None = None,
    account: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `audience` and `outcomes` blocks (`totals`: the period's sums per kind)."""
    n, a = network, account
    audience = outcomes.audience_figures(
        outcome_queries.audience_snapshots(engine, period, network=n, account=a),
        int(totals.get("follow", 0)),
        period,
    )
    results = outcomes.outcome_figures(outcome_queries.funnel(engine, period, network=n, account=a))
    return audience, results


def influenced(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, Any]:
    """`moments.influenced_*`; without a moment that could count, no conversion is read."""
    moments = outcome_queries.moment_people(engine, period, network=network)
    windows = outcomes.influence_windows(outcomes.moment_days(moments), period)
    counted, unusual = (
        outcome_queries.influenced_conversions(
            engine, period, windows, network=network, account=account
        )
        if windows
        else ([], [])
    )
    return outcomes.influenced(unusual, moments, period, counted)


def as_table(data: dict[str, Any]) -> str:
    """A readable table of the same figures."""
    s, b, m = data["support"], data["brand"], data["moments"]
    rows = [
        (f"Rapport summary {data['year']} (as of {data['as_of']})", ""),
        ("Customer-support impact", ""),
        ("  conversations", f"{s['conversations']:,}"),
        ("  answered", f"{s['answered']:,}"),
        ("  median first response", fmt.duration(s["median_first_response_s"])),
        ("  p90 first response", fmt.duration(s["p90_first_response_s"])),
        ("  answered within 1 h", fmt.rate(s["responded_within_1h_rate"])),
        ("  median resolution", fmt.duration(s["median_resolution_s"])),
        ("  social share of support", fmt.rate(s["social_share"])),
        (
            "  in business hours: median first response",
            fmt.duration(s["median_first_response_business_s"]),
        ),
        (
            "  in business hours: p90 first response",
            fmt.duration(s["p90_first_response_business_s"]),
        ),
        ("  in business hours: median resolution", fmt.duration(s["median_resolution_business_s"])),
        ("  first-response SLA met", fmt.rate(s["first_response_sla_met_rate"])),
        ("  SLA breaches", f"{s['sla_breaches']:,}"),
        ("  CSAT (rated 4 or 5)", fmt.rate(s["csat"])),
        ("  average rating", fmt.number(s["csat_average"])),
        ("  ratings / resolved", f"{s['csat_responses']:,}, {fmt.rate(s['csat_response_rate'])}"),
        ("  reopened", f"{s['reopened']:,}, {fmt.rate(s['reopen_rate'])}"),
        ("Brand impact", ""),
        ("  impressions", f"{b['impressions']:,}"),
        ("  reach", f"{b['reach']:,}"),
        ("  engagement", f"{b['engagement']:,}"),
        ("  engagement rate", fmt.rate(b["engagement_rate"])),
        ("Meaningful relationship moments", ""),
        ("  moments", f"{m['count']:,}"),
        ("  with existing customers", f"{m['existing_customer']:,}"),
        ("  conversions within 90 days", f"{m['influenced_conversions']:,}"),
        ("  their revenue", fmt.amounts(m["influenced_revenue"])),
        *outcome_rows(data["audience"], data["outcomes"]),
        *listening_rows(data["listening"]),
    ]
    if data["value"]:
        v = data["value"]
        rows += [
            ("Return on the programme", ""),
            ("  modelled (value model)", fmt.percent(v["roi"])),
            ("  measured (attributed revenue)", fmt.percent(v["measured_roi"])),
        ]
    if s["agents"]:
        rows.append(("Agents (answered, median first response: calendar / business)", ""))
        for agent in s["agents"]:
            rows.append(
                (
                    f"  {agent['agent']}",
                    f"{agent['answered']:,}, {fmt.duration(agent['median_first_response_s'])}"
                    f" / {fmt.duration(agent['median_first_response_business_s'])}",
                )
            )
    if data["goals"]:
        rows.append(("Goals (actual / target, pace)", ""))
        for metric, goal in data["goals"].items():
            pace = fmt.percent(goal["pace"])
            rows.append(
                (
                    f"  {fmt.label(metric)}",
                    f"{fmt.metric(metric, goal['actual'])} / {fmt.metric(metric, goal['target'])}"
                    f", pace {pace}",
                )
            )
    if "completeness" in data:
        rows.append(("Completeness", completeness.line(data["completeness"])))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}".rstrip() for label, value in rows)


def outcome_rows(a: dict[str, Any], o: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Audience", ""),
        ("  followers", fmt.number(a["followers"])),
        ("  net growth", fmt.number(a["net_growth"])),
        ("  growth rate", fmt.rate(a["growth_rate"])),
        ("  new follows", f"{a['new_follows']:,}"),
        ("Outcomes from social", ""),
        ("  visits", f"{o['visits']:,}"),
        ("  leads", f"{o['leads']:,}"),
        ("  conversions", f"{o['conversions']:,}"),
        ("  conversion rate", fmt.rate(o["conversion_rate"])),
        ("  revenue", fmt.amounts(o["revenue"])),
    ]


def listening_rows(heard: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Share of voice", ""),
        ("  mentions of the brand", f"{heard['mentions']:,}"),
        ("  share of voice", fmt.rate(heard["share_of_voice"])),
    ]
    rows += [
        (f"  {c['name']} ({c['network']} {c['account']})", f"{c['mentions']:,}")
        for c in heard["competitors"]
    ]
    return rows
