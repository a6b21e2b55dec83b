"""Share of voice: the brand's mentions against its competitors', from the daily rollups
(docs/figures.md#response-quality-and-share-of-voice); competitors are in
services/domain/competitors.py."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from services.domain.competitors import TABLE as COMPETITORS
from services.domain.competitors import not_competitor
from services.domain.period import Period
from services.domain.tables import RollupDaily
from services.reports.figures import iso_week

DAILY = RollupDaily.__table__  # type: ignore[attr-defined]


def share(ours: int, theirs: int) -> float | None:
    return ours / (ours + theirs) if ours + theirs else None


def _mentions(period: Period, network: str | None) -> list[Any]:
    d = DAILY.c
    where = [d.kind == "mention", d.day >= period.first_day, d.day <= period.as_of]
    if network:
        where.append(d.network == network)
    return where


def listening(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, Any]:
    """The `listening` block: the brand's mentions (on its own accounts, or `account`), each
    competitor's, and the share of voice overall and per network."""
    d, k = DAILY.c, COMPETITORS.c
    own = select(d.network, func.sum(d["count"])).where(
        *_mentions(period, network), not_competitor(d.network, d.account)
    )
    if account:
        own = own.where(d.account == account)
    theirs = (
        select(k.name, k.network, k.account, func.coalesce(func.sum(d["count"]), 0))
        .select_from(
            COMPETITORS.outerjoin(
                DAILY,
                (d.network == k.network)
                & (d.account == k.account)
                & and_(*_mentions(period, None)),
            )
        )
        .group_by(k.name, k.network, k.account)
    )
    if network:
        theirs = theirs.where(k.network == network)
    with engine.connect() as conn:
        brand = {n: int(total or 0) for n, total in conn.execute(own.group_by(d.network))}
        rivals = [
            {"name": name, "network": net, "account": acc, "mentions": int(total or 0)}
            for name, net, acc, total in conn.execute(theirs)
        ]
    rivals.sort(key=lambda row: (-row["mentions"], row["name"], row["network"], row["account"]))
    per_network: defaultdict[str, int] = defaultdict(int)
    for row in rivals:
        per_network[row["network"]] += row["mentions"]
    mentions, competitor_mentions = sum(brand.values()), sum(per_network.values())
    return {
        "mentions": mentions,
        "competitors": rivals,
        "share_of_voice": share(mentions, competitor_mentions),
        "networks": [
            {
                "network": name,
                "mentions": brand.get(name, 0),
                "competitor_mentions": per_network.get(name, 0),
                "share_of_voice": share(brand.get(name, 0), per_network.get(name, 0)),
            }
            for name in sorted(set(brand) | set(per_network))
        ],
    }


def weekly_share(engine: Engine, period: Period) -> list[dict[str, Any]]:
    """Per ISO week and network: the brand's mentions, the competitors', the share of voice."""
    d, k = DAILY.c, COMPETITORS.c
    query = select(d.day, d.network, d.account, func.sum(d["count"])).where(
        *_mentions(period, None)
    )
    weeks: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    with engine.connect() as conn:
        rivals = {(n, a) for n, a in conn.execute(select(k.network, k.account))}
        rows = conn.execute(query.group_by(d.day, d.network, d.account))
        for day, network, account, total in rows:
            theirs = (network, account) in rivals
            weeks[(iso_week(_as_date(day)), network)][1 if theirs else 0] += int(total or 0)
    return [
        {
            "week": week,
            "network": network,
            "mentions": ours,
            "competitor_mentions": theirs,
            "share_of_voice": share(ours, theirs),
        }
        for (week, network), (ours, theirs) in sorted(weeks.items())
    ]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
