"""Response quality over the period's conversations: ratings (CSAT) and reopenings, read from
the facts the consumer keeps per conversation
(docs/figures.md#response-quality-and-share-of-voice)."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.i18n import Speaker
from services.domain.conversation_levels import RATING, REOPENED, Window, window_where
from services.domain.period import Period
from services.domain.vocabulary import SATISFIED_FROM


def support_quality(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The `support` block's quality figures, and each agent's `csat` and `csat_responses`
    (by the agent of the first response, as the agents' other columns)."""
    window = Window(period.start_utc, period.end_utc, network=network, account=account)
    with engine.connect() as conn:
        where, params = window_where(conn.dialect.name, window)
        # The rating of each conversation once (a subquery), then one pass grouped by agent.
        sql = (
            "SELECT who, COUNT(rated), "
            f"SUM(CASE WHEN rated >= {SATISFIED_FROM} THEN 1 ELSE 0 END), SUM(rated), "
            "SUM(resolved), SUM(reopened) FROM ("
            "SELECT CASE WHEN first_response_at < :end THEN COALESCE(agent, 'unassigned') END "
            f"AS who, {RATING} AS rated, "
            "CASE WHEN resolved_at < :end THEN 1 ELSE 0 END AS resolved, "
            f"CASE WHEN {REOPENED} THEN 1 ELSE 0 END AS reopened "
            f"FROM support_conversation WHERE {' AND '.join(where)}) AS facts GROUP BY who"
        )
        groups = conn.execute(text(sql), params).all()
    responses, satisfied, points, resolved, reopened = (
        sum(int(row[i] or 0) for row in groups) for i in range(1, 6)
    )
    figures = {
        "csat_responses": responses,
        "csat": satisfied / responses if responses else None,
        "csat_average": points / responses if responses else None,
        "csat_response_rate": responses / resolved if resolved else None,
        "reopened": reopened,
        "reopen_rate": reopened / resolved if resolved else None,
    }
    agents = {
        str(row[0]): {
            "csat": int(row[2] or 0) / int(row[1]) if row[1] else None,
            "csat_responses": int(row[1] or 0),
        }
        for row in groups
        if row[0] is not None
    }
    return figures, agents


def report_cards(data: dict[str, Any], sp: Speaker) -> list[tuple[str, str, str]]:
    """The monthly report's cards for response quality and share of voice: (title, big
    figure, text), escaped for HTML (a competitor's name is typed by people)."""
    s, heard = data["support"], data["listening"]

    def rate(value: float | None) -> str:
        return "—" if value is None else sp.percent(value)

    average = "—" if s["csat_average"] is None else sp.number(s["csat_average"], 2)
    quality = sp._(
        "CSAT (rated 4 or 5) · average rating {average} of 5 · {ratings} · response rate "
        "{response_rate} · {reopened} reopened ({reopen_rate})",
        average=average,
        ratings=sp.n_("{n} rating", "{n} ratings", int(s["csat_responses"])),
        response_rate=rate(s["csat_response_rate"]),
        reopened=sp.number(int(s["reopened"])),
        reopen_rate=rate(s["reopen_rate"]),
    )
    # Right to left, each competitor's name isolated (FSI...PDI): a Latin name and the digits
    # after it would otherwise run together left to right, the last competitor read first.
    named = "\u2068{}\u2069" if sp.dir == "rtl" else "{}"
    rivals = " · ".join(
        f"{named.format(row['name'])} {sp.number(int(row['mentions']))}"
        for row in heard["competitors"]
    )
    voice = sp._(
        "share of voice · {mentions} mentions of the brand", mentions=sp.number(heard["mentions"])
    )
    return [
        (html.escape(sp._("Response quality")), html.escape(rate(s["csat"])), html.escape(quality)),
        (
            html.escape(sp._("Share of voice")),
            html.escape(rate(heard["share_of_voice"])),
            html.escape(f"{voice} · {rivals}" if rivals else voice),
        ),
    ]
