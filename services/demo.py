"""`rapport demo`: a realistic year of interactions streamed through the real ingest API."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlmodel import Session

from services import demo_listening, demo_settings
from services.common.clock import utcnow
from services.common.config import Settings
from services.common.db import make_engine
from services.domain.auth import Role, create_token, revoke_token
from services.domain.migrate import migrate

# (network, account, daily impressions at the start of the year, yearly growth)
ACCOUNTS = (
    ("twitter", "@rapport", 42_000, 0.35),
    ("twitter", "@rapport_help", 6_000, 0.20),
    ("instagram", "rapport.studio", 30_000, 0.60),
    ("linkedin", "Rapport", 12_000, 0.45),
    ("facebook", "Rapport", 18_000, -0.10),
)
# Share of impressions per engagement kind, by network.
ENGAGEMENT = {
    "twitter": {"like": 0.012, "reply": 0.002, "share": 0.003, "click": 0.006, "mention": 0.001},
    "instagram": {"like": 0.035, "comment": 0.003, "share": 0.002, "save": 0.004},
    "linkedin": {"like": 0.018, "comment": 0.002, "share": 0.002, "click": 0.010},
    "facebook": {"like": 0.010, "comment": 0.0015, "share": 0.001, "click": 0.004},
}
# Audience activity by local hour (people read social media mornings, lunch and evenings).
HOURLY = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.7, 1.2, 1.6, 1.5, 1.3, 1.4,
          1.8, 1.6, 1.2, 1.1, 1.2, 1.5, 1.9, 2.1, 1.9, 1.4, 0.9, 0.5]  # fmt: skip
WEEKDAY = [1.1, 1.15, 1.1, 1.05, 0.95, 0.7, 0.75]
SUPPORT_NETWORKS = (
    ("twitter", "@rapport_help"),
    ("instagram", "rapport.studio"),
    ("facebook", "Rapport"),
)
BATCH = 2_000


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(year: int, until: dt.datetime, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Every demo event of `year` up to `until` (UTC), deterministic ids so reruns replace."""
    rng = random.Random(seed)
    start = dt.datetime(year, 1, 1)
    days = (min(until, dt.datetime(year + 1, 1, 1)) - start).days
    for day_index in range(days):
        day = start + dt.timedelta(days=day_index)
        progress = day_index / 365
        yield from _brand_day(rng, day, progress)
        yield from _support_day(rng, day, progress)


def _brand_day(rng: random.Random, day: dt.datetime, progress: float) -> Iterator[dict[str, Any]]:
    weekday = WEEKDAY[day.weekday()]
    for network, account, base, growth in ACCOUNTS:
        daily = base * (1 + growth * progress) * weekday * rng.uniform(0.8, 1.25)
        if rng.random() < 0.03:  # a post that took off
            daily *= rng.uniform(3, 8)
        for hour in range(24):
            stamp = day + dt.timedelta(hours=hour)
            impressions = int(daily * HOURLY[hour] / 24 * rng.uniform(0.7, 1.3))
            if impressions <= 0:
                continue
            key = f"demo:{network}:{account}:{stamp:%Y%m%d%H}"
            common = {"occurred_at": _iso(stamp), "network": network, "account": account}
            yield {
                "event_id": f"{key}:impression",
                "kind": "impression",
                "count": impressions,
                **common,
            }
            yield {
                "event_id": f"{key}:reach",
                "kind": "reach",
                "count": int(impressions * 0.62),
                **common,
            }
            for kind, rate in ENGAGEMENT[network].items():
                count = int(impressions * rate * rng.uniform(0.6, 1.4))
                if count:
                    yield {"event_id": f"{key}:{kind}", "kind": kind, "count": count, **common}


# The support team, as they sign their answers; every 17th answer names nobody (unassigned).
AGENTS = ("lucia", "marco", "priya", "tom", "ana")


def _agent(number: int) -> dict[str, str]:
    return {} if number % 17 == 16 else {"actor": AGENTS[number % len(AGENTS)]}


def _support_day(rng: random.Random, day: dt.datetime, progress: float) -> Iterator[dict[str, Any]]:
    """Support moves from email to social over the year, and the team gets faster."""
    social = rng.randint(6, 12) + int(8 * progress)
    email = max(1, rng.randint(8, 12) - int(6 * progress))
    channels = [SUPPORT_NETWORKS[rng.randrange(3)] for _ in range(social)]
    channels += [("email", "support@rapport.example")] * email
    for number, (network, account) in enumerate(channels):
        conv = f"demo-{day:%Y%m%d}-{number}"
        inbound = day + dt.timedelta(minutes=rng.randint(7 * 60, 22 * 60))
        common = {"network": network, "account": account, "conversation_id": conv}
        if network != "email":
            common["url"] = f"https://{network}.example/{account.strip('@')}/conversation/{conv}"
        customer = f"customer{rng.randint(1, 5000)}"
        yield {
            "event_id": f"{conv}:in",
            "kind": "message_received",
            "occurred_at": _iso(inbound),
            "actor": customer,
            **common,
        }
        if rng.random() < 0.07:
            continue  # never answered
        median_s = (1500 - 700 * progress) if network != "email" else 5 * 3600
        response = inbound + dt.timedelta(seconds=int(rng.lognormvariate(math.log(median_s), 0.9)))
        yield {
            "event_id": f"{conv}:out",
            "kind": "message_sent",
            "occurred_at": _iso(response),
            **common,
            **_agent(number),
        }
        if rng.random() < 0.4:
            follow_up = response + dt.timedelta(minutes=rng.randint(5, 240))
            yield {
                "event_id": f"{conv}:in2",
                "kind": "message_received",
                "occurred_at": _iso(follow_up),
                "actor": customer,
                **common,
            }
            yield {
                "event_id": f"{conv}:out2",
                "kind": "message_sent",
                "occurred_at": _iso(follow_up + dt.timedelta(minutes=rng.randint(2, 90))),
                **common,
            }
        if rng.random() < 0.85:
            resolved = response + dt.timedelta(
                seconds=int(rng.lognormvariate(math.log(3 * 3600), 1.0))
            )
            yield {
                "event_id": f"{conv}:resolved",
                "kind": "conversation_resolved",
                "occurred_at": _iso(resolved),
                **common,
            }
            rated = demo_listening.rating(common, resolved)
            if rated is not None:
                yield rated


CHANGES = (
    (
        "Was about to cancel after a billing mix-up; stayed and upgraded once we fixed it.",
        "retention",
    ),
    ("Asked about the team plan in a reply thread; booked a demo the same day.", "expansion"),
    ("Shared our fix with her 20k followers and thanked the support team publicly.", "advocacy"),
    ("Suggested a CSV export option; it shipped and he told his community.", "product_feedback"),
    (
        "Locked out before a launch; back in within 15 minutes, wrote a kind review.",
        "issue_resolved",
    ),
    ("Introduced us to a colleague at another agency who signed up.", "referral"),
)


def generate_moments(year: int, until: dt.datetime, seed: int = 11) -> Iterator[dict[str, Any]]:
    """About four moments a week, as a team that logs them regularly would."""
    rng = random.Random(seed)
    day = dt.date(year, 1, 1)
    while day < min(until.date(), dt.date(year + 1, 1, 1)):
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
            network, account = SUPPORT_NETWORKS[rng.randrange(3)]
            change, outcome = CHANGES[rng.randrange(len(CHANGES))]
            person = f"customer{rng.randint(1, 5000)}"
            yield {
                "occurred_on": day.isoformat(),
                "network": network,
                "link": f"https://{network}.example/{account.strip('@')}/conversation/"
                f"demo-{day:%Y%m%d}-{rng.randint(0, 9)}",
                # The handle, and the address their orders carry (influenced conversions).
                "people": [f"@{person}", f"{person}@example.com"],
                "customer_status": rng.choice(
                    ("existing_customer", "existing_customer", "prospect", "not_customer")
                ),
                "change": change,
                "outcome": outcome,
                "initiated_by": rng.choice(("customer", "customer", "brand")),
                "tags": ["demo"],
            }
        day += dt.timedelta(days=1)


# Followers at the start of the year and their yearly growth (Facebook's audience shrinks).
FOLLOWERS = {(net, account): (base // 3, growth) for net, account, base, growth in ACCOUNTS}
# Campaigns by the months they run; `always-on` all year.
CAMPAIGNS = (("spring-drop", 3, 5), ("summer-sale", 6, 8), ("black-friday", 11, 11))
UTM_SOURCES = {"twitter": "t.co", "instagram": "ig", "linkedin": "linkedin", "facebook": "fb"}


def generate_outcomes(year: int, until: dt.datetime, seed: int = 13) -> Iterator[dict[str, Any]]:
    """A year of outcomes as a shop measures them: a follower snapshot per account and day
    (from December before), GA4 visits and leads per network and campaign, and orders, some by
    people of the demo's moments within weeks of their moment, a few cancelled."""
    rng = random.Random(seed)
    end = min(until, dt.datetime(year + 1, 1, 1))
    day = dt.datetime(year - 1, 12, 1)
    order = itertools.count()
    while day < end:
        progress = (day - dt.datetime(year, 1, 1)).days / 365
        for network, account, _base, _growth in ACCOUNTS:
            start, growth = FOLLOWERS[(network, account)]
            followers = int(start * (1 + growth * progress) * rng.uniform(0.998, 1.002))
            yield {
                "event_id": f"demo:followers:{network}:{account}:{day:%Y%m%d}",
                "kind": "followers",
                "occurred_at": _iso(day + dt.timedelta(hours=6)),
                "network": network,
                "account": account,
                "count": followers,
            }
        if day.year == year:
            yield from _traffic_day(rng, day, progress, order)
        day += dt.timedelta(days=1)
    yield from _moment_orders(rng, year, end)


def _traffic_day(
    rng: random.Random, day: dt.datetime, progress: float, order: Iterator[int]
) -> Iterator[dict[str, Any]]:
    running = [name for name, first, last in CAMPAIGNS if first <= day.month <= last]
    for network, source in UTM_SOURCES.items():
        for campaign in ("always-on", *running):
            boost = 1.0 if campaign == "always-on" else 2.5
            visits = int(rng.uniform(30, 90) * (1 + progress) * boost)
            key = f"demo:ga4:{day:%Y%m%d}:{network}:{campaign}"
            common = {
                "occurred_at": _iso(day + dt.timedelta(hours=12)),
                "network": network,
                "account": "default",
                "attributes": {
                    "utm_source": source,
                    "utm_medium": "social",
                    "utm_campaign": campaign,
                },
            }
            yield {"event_id": f"{key}:visit", "kind": "visit", "count": visits, **common}
            leads = int(visits * rng.uniform(0.02, 0.05))
            if leads:
                yield {"event_id": f"{key}:lead", "kind": "lead", "count": leads, **common}
            for _ in range(int(visits * rng.uniform(0.005, 0.02))):
                at = day + dt.timedelta(minutes=rng.randint(8 * 60, 23 * 60))
                yield _order(rng, f"demo:order:{next(order)}", at, common, rng.randint(5001, 40000))


def _order(
    rng: random.Random, event_id: str, at: dt.datetime, common: dict[str, Any], customer: int
) -> dict[str, Any]:
    cancelled = rng.random() < 0.03  # as a Shopify cancellation: count 0, value 0
    currency = "EUR" if rng.random() < 0.2 else "USD"
    return {
        **common,
        "event_id": event_id,
        "kind": "conversion",
        "occurred_at": _iso(at),
        "count": 0 if cancelled else 1,
        "value": "0" if cancelled else f"{rng.randint(1800, 24000) / 100:.2f}",
        "currency": currency,
        "actor": f"customer{customer}@example.com",
    }


def _moment_orders(rng: random.Random, year: int, end: dt.datetime) -> Iterator[dict[str, Any]]:
    """A third of the people of the demo's moments buy within 80 days of it."""
    for number, moment in enumerate(generate_moments(year, end)):
        if rng.random() > 0.35:
            continue
        at = dt.datetime.fromisoformat(moment["occurred_on"]) + dt.timedelta(
            days=rng.randint(1, 80), hours=rng.randint(9, 21)
        )
        if at >= end:
            continue
        network = str(moment["network"])
        common = {
            "network": network,
            "account": "default",
            "attributes": {"utm_source": UTM_SOURCES[network], "utm_medium": "social"},
        }
        customer = int(str(moment["people"][0]).removeprefix("@customer"))
        yield _order(rng, f"demo:order:moment:{number}", at, common, customer)


def _demo_moments(settings: Settings, token: str, year: int, now: dt.datetime) -> int:
    """Log demo moments through the moments API when it runs and holds none yet."""
    base = f"http://127.0.0.1:{settings.moments_http_port}"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            if client.get("/api/v1/moments", params={"per_page": 1}).json()["total"]:
                return 0
            logged = 0
            for moment in generate_moments(year, now):
                client.post("/api/v1/moments", json=moment).raise_for_status()
                logged += 1
            return logged
    except httpx.HTTPError:
        print(f"(moments service not reachable at {base}: no demo moments logged)")
        return 0


def run_demo(settings: Settings, *, url: str | None = None, year: int | None = None) -> int:
    """Post the demo year in batches with a temporary token; returns the events accepted."""
    base = url or f"http://127.0.0.1:{settings.ingest_http_port}"
    now = utcnow()
    year = year or now.year
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        token = create_token(session, name="demo", role=Role.manager)
    accepted = 0
    moments = 0
    started = time.monotonic()
    print(f"Streaming a demo year ({year}) through {base}/v1/interactions ...")
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            chunk: list[dict[str, Any]] = []
            for event in itertools.chain(
                generate(year, now),
                generate_outcomes(year, now),
                demo_listening.competitor_mentions(year, now),
            ):
                chunk.append(event)
                if len(chunk) >= BATCH:
                    accepted += _post(client, chunk)
                    chunk = []
                    _progress(accepted, started)
            if chunk:
                accepted += _post(client, chunk)
        moments = _demo_moments(settings, token, year, now)
        demo_settings.goals(engine, year)
        demo_settings.hours(engine, settings, year)
        demo_settings.value_model(engine, year)
        demo_listening.add_competitors(engine)
    finally:
        with Session(engine) as session:
            revoke_token(session, name="demo")
        engine.dispose()
    print(
        f"\nDone: {accepted:,} events accepted and {moments} moments logged in "
        f"{time.monotonic() - started:.0f}s. Try: rapport summary --year {year}"
    )
    return accepted


def _post(client: httpx.Client, events: list[dict[str, Any]]) -> int:
    for attempt in range(10):
        response = client.post("/v1/interactions", json=events)
        if response.status_code == 202:
            return int(response.json()["accepted"])
        if response.status_code != 503:
            raise SystemExit(f"ingest answered {response.status_code}: {response.text[:300]}")
        time.sleep(min(2**attempt, 10))
    raise SystemExit("ingest kept answering 503 (Kafka unavailable); try again later")


def _progress(accepted: int, started: float) -> None:
    rate = accepted / max(time.monotonic() - started, 1e-6)
    sys.stdout.write(f"\r  {accepted:>9,} events  ({rate:,.0f}/s)")
    sys.stdout.flush()
