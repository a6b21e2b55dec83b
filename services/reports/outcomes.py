"""Outcome math (docs/figures.md#outcomes-audience-traffic-leads-conversions-revenue): follower
growth, the funnel, revenue per currency and the conversions moments influenced; no database.

Money arrives as integer sums of ten-thousandths (exact on every database) and leaves as cents.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from services.domain.period import Period
from services.domain.vocabulary import INFLUENCE_DAYS, person_key

CENT = Decimal("0.01")
NO_CAMPAIGN = "(none)"
MAX_CAMPAIGNS = 50
FUNNEL = {"visit": "visits", "lead": "leads", "conversion": "conversions"}


def cents(total_e4: int) -> float:
    """A sum of ten-thousandths as an amount rounded to cents (half up): exact in the decimal,
    a float only for JSON, which holds any cents amount below 2^53 / 100 exactly as written."""
    return float(Decimal(total_e4).scaleb(-4).quantize(CENT, rounding=ROUND_HALF_UP))


def money(sums_e4: Mapping[str, int]) -> dict[str, float]:
    """{CURRENCY: amount in cents}, currencies in alphabetical order."""
    return {currency: cents(total) for currency, total in sorted(sums_e4.items())}


def ratio(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


# --- audience ----------------------------------------------------------------------------


class Snapshot(NamedTuple):
    """One `followers` event: an account's follower total at an instant (naive UTC)."""

    network: str
    account: str
    at: dt.datetime
    followers: int


def audience_figures(
    snapshots: Iterable[Snapshot], new_follows: int, period: Period
) -> dict[str, Any]:
    """The `audience` block from every snapshot up to the period's end."""
    start, end = period.start_utc, period.end_utc
    by_key: defaultdict[tuple[str, str], list[Snapshot]] = defaultdict(list)
    for snap in snapshots:
        if snap.at < end:
            by_key[(snap.network, snap.account)].append(snap)
    rows: list[dict[str, Any]] = []
    for (network, account), snaps in sorted(by_key.items()):
        snaps.sort(key=lambda s: s.at)
        before = [s for s in snaps if s.at < start]
        # The latest before 1 January, else the first the year saw.
        at_start = before[-1].followers if before else snaps[0].followers
        followers = snaps[-1].followers
        growth = followers - at_start
        rows.append(
            {
                "network": network,
                "account": account,
                "followers": followers,
                "followers_at_start": at_start,
                "net_growth": growth,
                "growth_rate": ratio(growth, at_start),
            }
        )
    if not rows:
        return {
            "followers": None,
            "followers_at_start": None,
            "net_growth": None,
            "growth_rate": None,
            "new_follows": new_follows,
            "networks": [],
        }
    followers = sum(r["followers"] for r in rows)
    at_start = sum(r["followers_at_start"] for r in rows)
    return {
        "followers": followers,
        "followers_at_start": at_start,
        "net_growth": followers - at_start,
        "growth_rate": ratio(followers - at_start, at_start),
        "new_follows": new_follows,
        "networks": rows,
    }


def follower_series(snapshots: Iterable[Snapshot], period: Period) -> list[dict[str, Any]]:
    """Followers per network at the end of each local day of the period that has a snapshot:
    each account's latest total by then (carried over days it has none), summed per network.
    Rows {"day", "network", "followers"} sorted by network, then day."""
    tz = period.tz
    accounts: defaultdict[str, defaultdict[str, list[tuple[dt.datetime, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for snap in snapshots:
        if snap.at < period.end_utc:
            accounts[snap.network][snap.account].append((snap.at, snap.followers))
    rows: list[dict[str, Any]] = []
    for network, by_account in sorted(accounts.items()):
        for snaps in by_account.values():
            snaps.sort()
        days = sorted(
            {
                at.replace(tzinfo=dt.UTC).astimezone(tz).date()
                for snaps in by_account.values()
                for at, _ in snaps
                if at >= period.start_utc
            }
        )
        for day in days:
            end = _utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz))
            total = 0
            for snaps in by_account.values():
                index = bisect.bisect_left(snaps, (end,))
                total += snaps[index - 1][1] if index else 0
            rows.append({"day": day, "network": network, "followers": total})
    return rows


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


# --- the funnel and revenue ----------------------------------------------------------------


class FunnelSum(NamedTuple):
    """Sums of visits, leads or conversions of one network, campaign and currency."""

    network: str
    campaign: str
    kind: str
    currency: str | None
    total: int
    value_e4: int | None


def outcome_figures(sums: Iterable[FunnelSum]) -> dict[str, Any]:
    """The `outcomes` block from the period's sums (outcome_queries.funnel)."""
    networks: dict[str, dict[str, Any]] = {}
    campaigns: dict[str, dict[str, Any]] = {}
    for row in sums:
        for name, rows in ((row.network, networks), (row.campaign, campaigns)):
            into = rows.setdefault(
                name, {"visits": 0, "leads": 0, "conversions": 0, "revenue": defaultdict(int)}
            )
            into[FUNNEL[row.kind]] += row.total
            # Revenue is what conversions brought; a lead's value is not money received.
            if row.kind == "conversion" and row.currency and row.value_e4 is not None:
                into["revenue"][row.currency] += row.value_e4
    visits = sum(r["visits"] for r in networks.values())
    leads = sum(r["leads"] for r in networks.values())
    conversions = sum(r["conversions"] for r in networks.values())
    total_revenue: defaultdict[str, int] = defaultdict(int)
    for row_of_network in networks.values():
        for currency, total in row_of_network["revenue"].items():
            total_revenue[currency] += total
    ranked = sorted(campaigns.items(), key=lambda item: (-item[1]["conversions"], item[0]))
    return {
        "visits": visits,
        "leads": leads,
        "conversions": conversions,
        "lead_rate": ratio(leads, visits),
        "conversion_rate": ratio(conversions, visits),
        "revenue": money(total_revenue),
        "networks": [
            {
                "network": name,
                "visits": row["visits"],
                "leads": row["leads"],
                "conversions": row["conversions"],
                "conversion_rate": ratio(row["conversions"], row["visits"]),
                "revenue": money(row["revenue"]),
            }
            for name, row in sorted(networks.items())
        ],
        "campaigns": [
            {
                "campaign": name,
                "visits": row["visits"],
                "leads": row["leads"],
                "conversions": row["conversions"],
                "revenue": money(row["revenue"]),
            }
            for name, row in ranked[:MAX_CAMPAIGNS]
        ],
    }


# --- moments that led to a purchase -----------------------------------------------------------


class Conversion(NamedTuple):
    """A conversion with a person behind it (naive UTC instant; value in ten-thousandths)."""

    actor: str
    at: dt.datetime
    conversions: int
    currency: str | None
    value_e4: int | None


class Counted(NamedTuple):
    """Conversions the database already found influenced, summed per currency."""

    currency: str | None
    conversions: int
    value_e4: int | None


Window = tuple[dt.datetime, dt.datetime]


def moment_days(moments: Iterable[tuple[dt.date, Sequence[str]]]) -> dict[str, list[dt.date]]:
    """{person key: the days of that person's moments, in order}."""
    days: defaultdict[str, list[dt.date]] = defaultdict(list)
    for occurred_on, people in moments:
        for person in people:
            days[person_key(person)].append(occurred_on)
    for seen in days.values():
        seen.sort()
    return dict(days)


def influence_windows(
    days: Mapping[str, Sequence[dt.date]], period: Period
) -> dict[str, list[Window]]:
    """{person key: the instants (naive UTC, [from, until)) of the period whose local date is
    within 90 days on or after one of the person's moments}: one window a moment, joined where
    they meet, so a conversion lies in at most one of a person's windows and counts once."""
    tz, start, end = period.tz, period.start_utc, period.end_utc
    midnights: dict[dt.date, dt.datetime] = {}  # many moments share a day

    def midnight(day: dt.date) -> dt.datetime:
        if day not in midnights:
            midnights[day] = _utc(dt.datetime.combine(day, dt.time(), tz))
        return midnights[day]

    reach = dt.timedelta(days=INFLUENCE_DAYS + 1)
    windows: dict[str, list[Window]] = {}
    for key, dates in days.items():
        found: list[Window] = []
        for day in dates:  # in order: each window starts no earlier than the one before
            since, until = max(midnight(day), start), min(midnight(day + reach), end)
            if since >= until:
                continue
            if found and since <= found[-1][1]:
                found[-1] = (found[-1][0], max(found[-1][1], until))
            else:
                found.append((since, until))
        if found:
            windows[key] = found
    return windows


def influenced(
    conversions: Iterable[Conversion],
    moments: Iterable[tuple[dt.date, Sequence[str]]],
    period: Period,
    counted: Iterable[Counted] = (),
) -> dict[str, Any]:
    """`influenced_conversions` and `influenced_revenue`: of `conversions` (the period's, with a
    count above 0), those made by a person of a moment D with D <= the conversion's local date
    <= D + 90 days, each once; plus `counted`, those the database found so by the same rule
    (outcome_queries.influenced_conversions: the windows of influence_windows)."""
    conversions = list(conversions)
    days = moment_days(moments) if conversions else {}
    count = 0
    revenue: defaultdict[str, int] = defaultdict(int)
    for sums in counted:
        count += sums.conversions
        if sums.currency and sums.value_e4 is not None:
            revenue[sums.currency] += sums.value_e4
    for conversion in conversions:
        dates = days.get(person_key(conversion.actor))
        if not dates:
            continue
        local = conversion.at.replace(tzinfo=dt.UTC).astimezone(period.tz).date()
        # The latest moment on or before that day decides: it is the nearest within 90 days.
        index = bisect.bisect_right(dates, local)
        if index and (local - dates[index - 1]).days <= INFLUENCE_DAYS:
            count += conversion.conversions
            if conversion.currency and conversion.value_e4 is not None:
                revenue[conversion.currency] += conversion.value_e4
    return {"influenced_conversions": count, "influenced_revenue": money(revenue)}
