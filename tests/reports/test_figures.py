"""Report math against hand-computed fixtures
(docs/figures.md#report-figures-the-definitions-every-screen-export-and-test-uses)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.reports.figures import (
    ConversationFact,
    Period,
    brand_figures,
    goal_pace,
    kind_sums,
    percentile,
    support_figures,
    weekly_of_kind,
)

UTC = ZoneInfo("UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def conv(
    inbound: str, response: str | None = None, resolved: str | None = None, network: str = "twitter"
) -> ConversationFact:
    return ConversationFact(
        network, at(inbound), at(response) if response else None, at(resolved) if resolved else None
    )


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        pytest.param([], 0.5, None, id="empty"),
        pytest.param([7.0], 0.9, 7.0, id="single"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.5, 2.5, id="even-median"),
        pytest.param([10.0, 20.0, 30.0, 40.0, 50.0], 0.9, 46.0, id="p90-interpolated"),
        pytest.param([50.0, 10.0, 40.0, 20.0, 30.0], 0.5, 30.0, id="unsorted"),
    ],
)
def test_percentile_matches_numpy_linear(
    values: list[float], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == expected


def test_period_bounds_and_days() -> None:
    p = Period.of(2024, dt.date(2024, 3, 1), ZoneInfo("America/New_York"))
    assert p.start_utc == at("2024-01-01 05:00:00")
    assert p.end_utc == at("2024-03-02 05:00:00")
    assert (p.elapsed_days, p.days_in_year) == (61, 366)  # leap year: 31 + 29 + 1
    january = Period.of(2026, dt.date(2026, 1, 3), UTC)
    assert (january.elapsed_days, january.days_in_year) == (3, 365)


def test_as_of_outside_the_year_is_refused() -> None:
    with pytest.raises(ValueError, match="not in year"):
        Period.of(2026, dt.date(2025, 12, 31), UTC)


def test_support_figures_hand_computed() -> None:
    period = Period.of(2026, dt.date(2026, 6, 30), UTC)
    facts = [
        conv("2026-02-01 10:00", "2026-02-01 10:10", "2026-02-01 12:00"),  # 600 s, resolved 7200 s
        conv("2026-02-02 10:00", "2026-02-02 11:00", "2026-02-02 14:00"),  # 3600 s: within 1 h
        conv("2026-02-03 10:00", "2026-02-03 13:00"),  # 10800 s, never resolved
        conv("2026-02-04 10:00", network="email"),  # unanswered
        conv("2025-12-31 23:00", "2026-01-01 00:30"),  # began last year: not counted
        conv("2026-07-01 09:00", "2026-07-01 09:05"),  # after the as-of day: not counted
        conv("2026-06-30 23:00", "2026-07-01 00:10"),  # in period, answered after it: unanswered
    ]
    s = support_figures(facts, period)
    assert s["conversations"] == 5
    assert s["answered"] == 3
    assert s["median_first_response_s"] == 3600.0
    assert s["p90_first_response_s"] == pytest.approx(3600 + (10800 - 3600) * 0.8)
    assert s["responded_within_1h_rate"] == pytest.approx(2 / 5)
    assert s["median_resolution_s"] == pytest.approx((7200 + 14400) / 2)
    assert s["social_share"] == pytest.approx(4 / 5)


def test_support_in_a_timezone() -> None:
    # 23:30 UTC on 31 Dec 2025 is 00:30 on 1 Jan 2026 in Berlin: it belongs to 2026 there.
    fact = conv("2025-12-31 23:30", "2025-12-31 23:40")
    assert (
        support_figures([fact], Period.of(2026, dt.date(2026, 1, 1), ZoneInfo("Europe/Berlin")))[
            "conversations"
        ]
        == 1
    )
    assert support_figures([fact], Period.of(2026, dt.date(2026, 1, 1), UTC))["conversations"] == 0


def test_support_without_data_is_null_not_zero() -> None:
    s = support_figures([], Period.of(2026, dt.date(2026, 1, 1), UTC))
    assert s == {
        "conversations": 0,
        "answered": 0,
        "median_first_response_s": None,
        "p90_first_response_s": None,
        "responded_within_1h_rate": None,
        "median_resolution_s": None,
        "social_share": None,
    }


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        pytest.param(
            {
                "impression": 1000,
                "reach": 400,
                "like": 30,
                "comment": 5,
                "share": 5,
                "click": 10,
                "follow": 99,
            },
            {"impressions": 1000, "reach": 400, "engagement": 50, "engagement_rate": 0.05},
            id="follows-are-not-engagement",
        ),
        pytest.param(
            {"like": 3},
            {"impressions": 0, "reach": 0, "engagement": 3, "engagement_rate": 0.0},
            id="zero-impressions",
        ),
        pytest.param(
            {}, {"impressions": 0, "reach": 0, "engagement": 0, "engagement_rate": 0.0}, id="empty"
        ),
    ],
)
def test_brand_figures(totals: dict[str, int], expected: dict[str, float]) -> None:
    assert brand_figures(totals) == expected


@pytest.mark.parametrize(
    ("metric", "target", "actual", "pace", "projected"),
    [
        # 2026-04-10 is day 100 of 365: expected 100/365 of the target by then.
        pytest.param(
            "impressions",
            365_000,
            120_000,
            120_000 / 100_000,
            120_000 / 100 * 365,
            id="counting-ahead",
        ),
        pytest.param("moments", 365, 50, 50 / 100, 50 / 100 * 365, id="counting-behind"),
        pytest.param("responded_within_1h_rate", 0.8, 0.6, 0.75, None, id="rate"),
        pytest.param("social_share", 0.5, 0.6, 1.2, None, id="share-ahead"),
        pytest.param("median_first_response_s", 1800, 3600, 0.5, None, id="lower-is-better"),
        pytest.param("median_first_response_s", 1800, None, None, None, id="no-data"),
        # Answered while closed: no business time passed. A time counts as one second at least,
        # so 0 meets any target instead of reading as "no data".
        pytest.param(
            "median_first_response_business_s", 1800, 0.0, 1800.0, None, id="lower-zero-actual"
        ),
        pytest.param("median_first_response_business_s", 0, 0.0, 1.0, None, id="lower-zero-both"),
        pytest.param(
            "median_first_response_business_s", 0, 60.0, 1 / 60, None, id="lower-zero-target"
        ),
        pytest.param("impressions", 0, 10, None, 10 / 100 * 365, id="zero-target"),
    ],
)
def test_goal_progress(
    metric: str, target: float, actual: float | None, pace: float | None, projected: float | None
) -> None:
    from services.reports.figures import goal_progress

    period = Period.of(2026, dt.date(2026, 4, 10), UTC)
    assert period.elapsed_days == 100
    result = goal_progress(metric, target, actual, period)
    assert result["target"] == target and result["actual"] == actual
    assert result["pace"] == (pytest.approx(pace) if pace is not None else None)
    assert result["projected_year_end"] == (
        pytest.approx(projected) if projected is not None else None
    )


def test_traffic_light() -> None:
    from services.reports.figures import traffic_light

    assert [traffic_light(p) for p in (1.2, 1.0, 0.95, 0.5, None)] == [
        "green",
        "green",
        "amber",
        "red",
        "grey",
    ]


def test_heatmap_uses_the_local_weekday_and_hour() -> None:
    from services.reports.figures import engagement_heatmap

    # Monday 2026-03-02 23:00 UTC is Tuesday 00:00 in Berlin.
    rows = [(dt.datetime(2026, 3, 2, 23), 5)]
    berlin = engagement_heatmap(rows, ZoneInfo("Europe/Berlin"))
    assert berlin[1][0] == 5 and sum(map(sum, berlin)) == 5
    assert engagement_heatmap(rows, UTC)[0][23] == 5


def test_moments_breakdown() -> None:
    from services.reports.figures import MomentFact, moment_breakdown, moment_figures

    period = Period.of(2026, dt.date(2026, 3, 31), UTC)
    facts = [
        MomentFact(dt.date(2026, 3, 2), "twitter", "existing_customer", "retention", "customer"),
        MomentFact(dt.date(2026, 3, 3), "instagram", "prospect", None, "brand"),
        MomentFact(dt.date(2026, 4, 1), "twitter", "existing_customer", None, None),  # after as-of
        MomentFact(dt.date(2025, 12, 31), "twitter", "existing_customer", None, None),  # last year
    ]
    assert moment_figures(facts, period) == {"count": 2, "existing_customer": 1}
    data = moment_breakdown(facts, period)
    assert data["per_week"] == {"2026-W10": 2}
    assert data["by_initiated_by"] == {"proactive": 1, "reactive": 1}
    assert data["existing_customer_share"] == 0.5


def test_the_sums_a_page_draws_from_daily_rows() -> None:
    daily = [
        (dt.date(2026, 1, 5), "click", 3),  # Monday of week 2
        (dt.date(2026, 1, 11), "click", 4),  # Sunday of week 2
        (dt.date(2026, 1, 12), "click", 5),  # week 3
        (dt.date(2026, 1, 12), "like", 7),
    ]
    assert kind_sums(daily) == {"click": 12, "like": 7}
    assert weekly_of_kind(daily, "click") == {"2026-W02": 7, "2026-W03": 5}
    assert weekly_of_kind(daily, "share") == {}
    assert goal_pace(5_200, 3) == [100.0, 200.0, 300.0]
