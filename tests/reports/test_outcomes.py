"""The outcome figures (`audience`, `outcomes`, `moments.influenced_*`, measured ROI, goals)
against values worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.cli import main
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.models import MomentCreate
from services.reports.summary import summary
from tests.factories import batch, event
from tests.factories_moments import moment

UTC = ZoneInfo("UTC")
AS_OF = dt.date(2026, 6, 30)


def write(engine: Engine, *events: dict[str, Any], ingested_at_us: int | None = None) -> None:
    write_batch(engine, [batch(*events, ingested_at_us=ingested_at_us)], UTC)


def figures(engine: Engine, **slice_: Any) -> dict[str, Any]:
    return summary(engine, year=2026, as_of=AS_OF, tz=UTC, **slice_)


def snapshot(network: str, account: str, at: str, count: int) -> dict[str, Any]:
    return event(kind="followers", network=network, account=account, occurred_at=at, count=count)


def sale(event_id: str, at: str, value: str, currency: str, **overrides: Any) -> dict[str, Any]:
    return event(
        event_id=event_id,
        kind="conversion",
        occurred_at=at,
        value=value,
        currency=currency,
        **overrides,
    )


def test_audience(engine: Engine) -> None:
    write(
        engine,
        # Instagram: the latest snapshot before 1 January is the start (1,100, not 1,000).
        snapshot("instagram", "@shop", "2025-12-20T09:00:00Z", 1000),
        snapshot("instagram", "@shop", "2025-12-31T23:00:00Z", 1100),
        snapshot("instagram", "@shop", "2026-03-01T09:00:00Z", 1300),
        snapshot("instagram", "@shop", "2026-06-30T23:59:59Z", 1500),
        snapshot("instagram", "@shop", "2026-07-01T00:00:00Z", 9999),  # after the as-of day
        # Facebook: no snapshot before the year (the first of the year is the start); it fell.
        snapshot("facebook", "Shop", "2026-05-01T09:00:00Z", 450),
        snapshot("facebook", "Shop", "2026-02-01T09:00:00Z", 500),
        # X: only after the as-of day, so no row.
        snapshot("twitter", "@shop", "2026-08-01T09:00:00Z", 50),
        event(kind="follow", count=7, occurred_at="2026-02-02T09:00:00Z"),
        event(kind="follow", count=100, occurred_at="2026-07-02T09:00:00Z"),
    )
    assert figures(engine)["audience"] == {
        "followers": 1950,
        "followers_at_start": 1600,
        "net_growth": 350,
        "growth_rate": 350 / 1600,
        "new_follows": 7,
        "networks": [
            {
                "network": "facebook",
                "account": "Shop",
                "followers": 450,
                "followers_at_start": 500,
                "net_growth": -50,
                "growth_rate": -0.1,
            },
            {
                "network": "instagram",
                "account": "@shop",
                "followers": 1500,
                "followers_at_start": 1100,
                "net_growth": 400,
                "growth_rate": 400 / 1100,
            },
        ],
    }
    assert figures(engine, network="facebook")["audience"]["net_growth"] == -50


def test_no_snapshot_anywhere(engine: Engine) -> None:
    write(engine, event(kind="follow", count=3, occurred_at="2026-02-02T09:00:00Z"))
    assert figures(engine)["audience"] == {
        "followers": None,
        "followers_at_start": None,
        "net_growth": None,
        "growth_rate": None,
        "new_follows": 3,
        "networks": [],
    }


def test_a_start_of_zero_has_no_growth_rate(engine: Engine) -> None:
    write(
        engine,
        snapshot("tiktok", "@shop", "2026-01-05T09:00:00Z", 0),
        snapshot("tiktok", "@shop", "2026-03-05T09:00:00Z", 40),
    )
    audience = figures(engine)["audience"]
    assert (audience["net_growth"], audience["growth_rate"]) == (40, None)


def outcome_events(engine: Engine) -> None:
    spring = {"utm_source": "ig", "utm_medium": "social", "utm_campaign": "spring"}
    write(
        engine,
        event(kind="visit", network="instagram", count=200, attributes=spring,
              occurred_at="2026-03-01T09:00:00Z"),
        event(kind="visit", network="facebook", count=100, occurred_at="2026-04-01T09:00:00Z"),
        event(kind="visit", network="instagram", count=50, occurred_at="2025-12-31T12:00:00Z"),
        event(kind="visit", network="instagram", count=1000, occurred_at="2026-07-01T00:00:00Z"),
        event(kind="lead", network="instagram", count=10, attributes=spring,
              occurred_at="2026-03-02T09:00:00Z"),
        # A lead's value is not revenue: revenue sums conversions only.
        event(kind="lead", network="facebook", count=5, value="5", currency="EUR",
              occurred_at="2026-04-02T09:00:00Z"),
        sale("o1", "2026-03-03T09:00:00Z", "19.99", "EUR", network="instagram", attributes=spring),
        # 0.1 + 0.2 in floating point is 0.30000000000000004: exact here.
        sale("o2", "2026-03-04T09:00:00Z", "0.1", "USD", network="instagram", attributes=spring),
        sale("o3", "2026-03-05T09:00:00Z", "0.2", "USD", network="instagram", attributes=spring),
        # Half a cent rounds up (100.01), also in the total (19.99 + 100.005 = 119.995 -> 120).
        sale("o4", "2026-04-03T09:00:00Z", "100.005", "EUR", network="facebook"),
        sale("o5", "2026-04-04T09:00:00Z", "50", "EUR", network="facebook"),
        sale("o6", "2026-04-05T09:00:00Z", "10", "GBP", network="facebook"),
        sale("o7", "2026-07-01T00:00:00Z", "999", "EUR", network="instagram", attributes=spring),
        ingested_at_us=1,
    )  # fmt: skip
    # o5 is cancelled (count 0, value 0 replaces it); o6 is delivered again, unchanged.
    write(
        engine,
        sale("o5", "2026-04-04T09:00:00Z", "0", "EUR", network="facebook", count=0),
        sale("o6", "2026-04-05T09:00:00Z", "10", "GBP", network="facebook"),
        ingested_at_us=2,
    )


def test_outcomes(engine: Engine) -> None:
    outcome_events(engine)
    assert figures(engine)["outcomes"] == {
        "visits": 300,
        "leads": 15,
        "conversions": 5,
        "lead_rate": 15 / 300,
        "conversion_rate": 5 / 300,
        "revenue": {"EUR": 120.0, "GBP": 10.0, "USD": 0.3},
        "networks": [
            {
                "network": "facebook",
                "visits": 100,
                "leads": 5,
                "conversions": 2,
                "conversion_rate": 2 / 100,
                "revenue": {"EUR": 100.01, "GBP": 10.0},
            },
            {
                "network": "instagram",
                "visits": 200,
                "leads": 10,
                "conversions": 3,
                "conversion_rate": 3 / 200,
                "revenue": {"EUR": 19.99, "USD": 0.3},
            },
        ],
        "campaigns": [
            {
                "campaign": "spring",
                "visits": 200,
                "leads": 10,
                "conversions": 3,
                "revenue": {"EUR": 19.99, "USD": 0.3},
            },
            {
                "campaign": "(none)",
                "visits": 100,
                "leads": 5,
                "conversions": 2,
                "revenue": {"EUR": 100.01, "GBP": 10.0},
            },
        ],
    }


def test_outcomes_as_of_an_earlier_day_and_by_network(engine: Engine) -> None:
    outcome_events(engine)
    early = summary(engine, year=2026, as_of=dt.date(2026, 3, 3), tz=UTC)["outcomes"]
    assert (early["visits"], early["leads"], early["conversions"]) == (200, 10, 1)
    assert early["revenue"] == {"EUR": 19.99}
    facebook = figures(engine, network="facebook")["outcomes"]
    assert (facebook["conversions"], facebook["revenue"]) == (2, {"EUR": 100.01, "GBP": 10.0})
    assert [c["campaign"] for c in facebook["campaigns"]] == ["(none)"]


def test_no_outcomes(engine: Engine) -> None:
    assert figures(engine)["outcomes"] == {
        "visits": 0,
        "leads": 0,
        "conversions": 0,
        "lead_rate": None,
        "conversion_rate": None,
        "revenue": {},
        "networks": [],
        "campaigns": [],
    }


def test_campaigns_rank_by_conversions_then_name_and_stop_at_50(engine: Engine) -> None:
    sales = [
        sale(f"c{i}-{n}", "2026-02-01T09:00:00Z", "1", "EUR", attributes={"utm_campaign": name})
        for i, name in enumerate(f"k{i:02d}" for i in range(52))
        for n in range(1 + (i == 30))  # k30 sells twice
    ]
    write(engine, *sales)
    campaigns = figures(engine)["outcomes"]["campaigns"]
    assert len(campaigns) == 50
    assert [c["campaign"] for c in campaigns[:3]] == ["k30", "k00", "k01"]


def add_moment(engine: Engine, on: str, people: list[str], **overrides: Any) -> None:
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(moment(occurred_on=on, people=people, **overrides)),
            actor="test",
        )


def test_conversions_influenced_by_moments(engine: Engine) -> None:
    add_moment(engine, "2025-12-10", ["ana@example.com"])  # last year's moment still counts
    add_moment(engine, "2026-01-01", ["@Bob", "carol"])
    add_moment(engine, "2026-02-01", ["bob"])  # Bob's second moment: his sale counts once
    add_moment(engine, "2026-05-01", ["dave"])  # after Dave bought
    add_moment(engine, "2026-06-01", ["erin"])
    add_moment(engine, "2026-03-01", ["josé@example.com", "@Zoë Díaz"])
    write(
        engine,
        # 83 days after Ana's moment; her address matches whole, in any case.
        sale("a", "2026-03-03T09:00:00Z", "19.99", "EUR", actor="ANA@example.com"),
        sale("a-other", "2026-03-03T09:00:00Z", "5", "EUR", actor="ana"),  # not her address
        # Bob: 90 days after 1 January -> influenced; the @ is ignored.
        sale("b", "2026-04-01T23:59:59Z", "10", "USD", actor="bob"),
        # Carol: 91 days after -> not influenced.
        sale("c", "2026-04-02T00:00:00Z", "10", "USD", actor="Carol"),
        sale("d", "2026-04-15T09:00:00Z", "10", "USD", actor="dave"),
        # Erin's sale after the as-of day, and her cancelled one: neither counts.
        sale("e1", "2026-07-01T09:00:00Z", "30", "USD", actor="erin"),
        sale("e2", "2026-06-02T09:00:00Z", "0", "GBP", actor="erin", count=0),  # cancelled
        sale("f", "2026-06-03T09:00:00Z", "7", "USD"),  # no person
        # Beyond ASCII and with spaces, in any case: compared as Python compares them.
        sale("j", "2026-03-05T09:00:00Z", "1", "GBP", actor="JOSÉ@example.com"),
        sale("z", "2026-03-06T09:00:00Z", "2", "GBP", actor=" zoë díaz "),
    )
    moments = figures(engine)["moments"]
    assert moments["influenced_conversions"] == 4
    assert moments["influenced_revenue"] == {"EUR": 19.99, "GBP": 3.0, "USD": 10.0}


def test_influence_is_decided_by_local_days_each_conversion_once(engine: Engine) -> None:
    """The 90 days are local days (Madrid: UTC+1 in winter, +2 from 29 March), each window
    starts at its moment's local midnight, a moment of last year reaches into 2026 from the
    year's first local instant, and a sale in two of a person's windows counts once."""
    add_moment(engine, "2026-01-10", ["lena"])
    add_moment(engine, "2026-02-01", ["Mo"])
    add_moment(engine, "2026-02-15", ["mo"])  # overlaps Mo's first window
    add_moment(engine, "2025-11-15", ["@nia"])  # up to 13 February 2026
    add_moment(engine, "2026-02-20", ["@@zed"])  # the person "@zed"
    write(
        engine,
        sale("l1", "2026-01-09T22:59:59Z", "1", "GBP", actor="lena"),  # 9 Jan, 23:59:59 local
        sale("l2", "2026-01-09T23:00:00Z", "2", "GBP", actor="lena"),  # 10 Jan, 00:00
        sale("l3", "2026-04-10T21:59:59Z", "4", "GBP", actor="lena"),  # 10 Apr, 23:59:59
        sale("l4", "2026-04-10T22:00:00Z", "8", "GBP", actor="lena"),  # 11 Apr: day 91
        sale("m1", "2026-03-01T12:00:00Z", "16", "USD", actor="mo"),  # in both windows
        sale("m2", "2026-05-10T12:00:00Z", "32", "USD", actor="@mo"),  # the second's only
        sale("m3", "2026-05-17T12:00:00Z", "1000", "USD", actor="mo"),  # after both
        sale("n0", "2025-12-31T22:59:59Z", "1000", "EUR", actor="nia"),  # 2025 locally
        sale("n1", "2025-12-31T23:00:00Z", "64", "EUR", actor="nia"),  # 1 Jan, 00:00 local
        sale("n2", "2026-02-13T22:59:59Z", "128", "EUR", actor="@nia"),  # 13 Feb, 23:59:59
        sale("n3", "2026-02-13T23:00:00Z", "1000", "EUR", actor="nia"),  # 14 Feb
        sale("o1", "2026-03-01T12:00:00Z", "1000", "EUR", actor="@@mo"),  # another person
        sale("z1", "2026-03-01T12:00:00Z", "256", "EUR", actor="@@zed"),  # @zed's, not zed's
        sale("z2", "2026-03-01T12:00:00Z", "1000", "EUR", actor="@zed"),
    )
    madrid = ZoneInfo("Europe/Madrid")
    moments = summary(engine, year=2026, as_of=AS_OF, tz=madrid)["moments"]
    assert moments["influenced_conversions"] == 7
    assert moments["influenced_revenue"] == {"EUR": 448.0, "GBP": 6.0, "USD": 48.0}
    # A slice reads only its conversions: every sale here is @brand's on twitter.
    other = summary(engine, year=2026, as_of=AS_OF, tz=madrid, account="@other")["moments"]
    assert (other["influenced_conversions"], other["influenced_revenue"]) == (0, {})
    mine = summary(engine, year=2026, as_of=AS_OF, tz=madrid, account="@brand")["moments"]
    assert mine["influenced_conversions"] == 7


def test_influence_windows_join_where_they_meet() -> None:
    from services.domain.period import Period
    from services.reports.outcomes import influence_windows, moment_days

    period = Period.of(2026, AS_OF, UTC)
    days = moment_days(
        [
            (dt.date(2026, 2, 1), ["Mo"]),
            (dt.date(2026, 2, 15), ["@mo"]),
            (dt.date(2026, 6, 1), ["mo"]),  # Mo's third: a window of its own, cut at the as-of day
            (dt.date(2025, 9, 1), ["old"]),  # ended before 2026
        ]
    )
    at = dt.datetime
    assert influence_windows(days, period) == {
        "mo": [(at(2026, 2, 1), at(2026, 5, 17)), (at(2026, 6, 1), at(2026, 7, 1))]
    }


def test_measured_roi_beside_the_modelled_one_and_outcome_goals(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome_events(engine)
    write(
        engine,
        snapshot("instagram", "@shop", "2025-12-31T09:00:00Z", 1000),
        snapshot("instagram", "@shop", "2026-06-01T09:00:00Z", 1360),
    )
    cost = ["--program-cost", "365", "--value-per-moment", "0"]
    assert main(["value", "set", "--year", "2026", "--currency", "EUR", *cost]) == 0
    targets = {
        "net_growth": "720",
        "visits": "600",
        "leads": "30",
        "conversions": "10",
        "revenue": "240",
        "conversion_rate": "0.02",
    }
    for metric, target in targets.items():
        args = ["goals", "set", "--year", "2026", "--metric", metric, "--target", target]
        assert main(args) == 0
    capsys.readouterr()
    assert main(["summary", "--year", "2026", "--as-of", "2026-06-30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    value = data["value"]
    cost_to_date = 365 * 181 / 365  # 181 days to 30 June
    assert value["attributed_revenue"] == 120.0  # euros only: no exchange rates
    assert value["measured_roi"] == pytest.approx((120.0 - cost_to_date) / cost_to_date)
    assert value["roi"] == pytest.approx(-1.0)  # the modelled one: nothing modelled earns
    share = 181 / 365
    goals = data["goals"]
    for metric, actual in (
        ("net_growth", 360),
        ("visits", 300),
        ("leads", 15),
        ("conversions", 5),
        ("revenue", 120.0),
    ):
        assert goals[metric]["actual"] == actual
        assert goals[metric]["pace"] == pytest.approx(actual / (float(targets[metric]) * share))
        assert goals[metric]["projected_year_end"] == pytest.approx(actual / 181 * 365)
    rate = goals["conversion_rate"]
    assert rate["actual"] == pytest.approx(5 / 300)
    assert (rate["pace"], rate["projected_year_end"]) == (pytest.approx(5 / 300 / 0.02), None)
    # A rate above 1 is refused as for the other rates.
    args = ["goals", "set", "--year", "2026", "--metric", "conversion_rate", "--target", "2"]
    assert main(args) == 2


def test_follower_series_per_network_and_day() -> None:
    from services.domain.period import Period
    from services.reports.outcomes import Snapshot, follower_series

    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text)

    period = Period.of(2026, dt.date(2026, 3, 31), ZoneInfo("Europe/Madrid"))
    snapshots = [
        Snapshot("instagram", "@a", at("2025-12-31T12:00:00"), 100),  # before: carried into 2026
        Snapshot("instagram", "@b", at("2026-01-02T08:00:00"), 50),
        Snapshot("instagram", "@a", at("2026-01-02T22:30:00"), 999),  # 23:30 in Madrid: 2 Jan
        Snapshot("instagram", "@a", at("2026-01-02T23:30:00"), 120),  # 00:30 on 3 Jan in Madrid
        Snapshot("facebook", "Page", at("2026-02-01T09:00:00"), 70),
        Snapshot("facebook", "Page", at("2026-04-01T09:00:00"), 80),  # after the as-of day
    ]
    assert follower_series(snapshots, period) == [
        {"day": dt.date(2026, 2, 1), "network": "facebook", "followers": 70},
        {"day": dt.date(2026, 1, 2), "network": "instagram", "followers": 999 + 50},
        {"day": dt.date(2026, 1, 3), "network": "instagram", "followers": 120 + 50},
    ]


def test_the_demo_year_shows_outcomes(engine: Engine) -> None:
    """`rapport demo`'s outcomes: followers from before the year (Facebook's falling), visits,
    leads and orders per campaign in two currencies, some by people of the demo's moments."""
    from services.demo import generate_moments, generate_outcomes

    until = dt.datetime(2026, 7, 1)
    events = list(generate_outcomes(2026, until))
    write_batch(engine, [batch(*events[i : i + 2000]) for i in range(0, len(events), 2000)], UTC)
    with Session(engine) as session:
        for data in generate_moments(2026, until):
            service.create(session, data=MomentCreate.model_validate(data), actor="demo")
    data = figures(engine)
    audience, results = data["audience"], data["outcomes"]
    growth = {row["network"]: row["net_growth"] for row in audience["networks"]}
    assert growth["facebook"] < 0 < growth["instagram"]
    assert len(audience["networks"]) == 5
    assert results["visits"] > results["leads"] > results["conversions"] > 100
    assert set(results["revenue"]) == {"EUR", "USD"}
    assert {c["campaign"] for c in results["campaigns"]} >= {"always-on", "spring-drop"}
    assert 0 < data["moments"]["influenced_conversions"] < results["conversions"]


def test_the_monthly_report_shows_outcomes_and_both_returns(
    engine: Engine, cli_env: None, tmp_path: Any
) -> None:
    from pathlib import Path

    outcome_events(engine)
    write(
        engine,
        snapshot("instagram", "@shop", "2025-12-31T09:00:00Z", 1000),
        snapshot("instagram", "@shop", "2026-03-20T09:00:00Z", 1250),
        sale("<b>", "2026-03-21T09:00:00Z", "1", "EUR", attributes={"utm_campaign": "<b>x</b>"}),
    )
    add_moment(engine, "2026-03-01", ["ana@example.com"])
    write(engine, sale("ana", "2026-03-10T09:00:00Z", "30", "EUR", actor="ana@example.com"))
    assert (
        main(["value", "set", "--year", "2026", "--currency", "EUR", "--program-cost", "365"]) == 0
    )
    out = Path(str(tmp_path)) / "march.html"
    assert main(["report", "monthly", "--month", "2026-03", "--out", str(out)]) == 0
    page = out.read_text()
    assert "Outcomes from social" in page
    assert "<td>Followers</td><td>1,250</td>" in page
    assert "250 since 1 January (25.0 %)" in page
    assert "<td>Visits from social</td><td>200</td>" in page  # March: the spring visits only
    found = page[page.index("<td>Revenue from social</td>") :][:80]
    assert "€50.99 · $0.30" in found, found  # 19.99 + 1 + 30 euros; 0.1 + 0.2 dollars
    assert "<td>Conversions within 90 days of a moment</td><td>1 · €30.00</td>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # a campaign as typed
    assert "Return on the programme, measured" in page
    assert "Return on the programme, modelled" in page
