"""Business seconds, exact through the zone: DST weeks, split shifts, 24:00, holidays, closed."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.domain.service_levels import (
    ScheduleError,
    business_durations,
    business_seconds,
    make_schedule,
)

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str, zone: ZoneInfo = MADRID) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


OFFICE = make_schedule(timezone="Europe/Madrid", hours="mon-fri 09:00-12:00,13:00-17:00")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param("2026-03-02 10:00", "2026-03-02 10:30", 1800, id="inside-one-interval"),
        pytest.param("2026-03-02 11:30", "2026-03-02 13:30", 3600, id="across-the-lunch-break"),
        pytest.param("2026-03-02 12:15", "2026-03-02 12:45", 0, id="received-and-answered-closed"),
        pytest.param("2026-03-02 16:00", "2026-03-03 10:00", 7200, id="overnight"),
        pytest.param("2026-03-06 16:30", "2026-03-09 09:30", 3600, id="over-the-weekend"),
        pytest.param("2026-03-07 10:00", "2026-03-08 18:00", 0, id="all-weekend"),
        pytest.param("2026-03-02 08:00", "2026-03-02 18:00", 7 * 3600, id="a-whole-day"),
    ],
)
def test_split_shifts(start: str, end: str, expected: float) -> None:
    assert business_seconds(OFFICE, at(start), at(end)) == expected


def test_dst_weeks_in_spring_and_autumn_count_wall_clock_hours() -> None:
    always = make_schedule(timezone="Europe/Madrid", hours="mon-sun 00:00-24:00")
    # 29 March 2026: clocks go 02:00 -> 03:00 in Madrid; the local day has 23 hours.
    assert business_seconds(always, at("2026-03-29 00:00"), at("2026-03-30 00:00")) == 23 * 3600
    # 25 October 2026: 03:00 -> 02:00; the local day has 25 hours.
    assert business_seconds(always, at("2026-10-25 00:00"), at("2026-10-26 00:00")) == 25 * 3600
    night = make_schedule(timezone="Europe/Madrid", hours="sun 01:00-04:00")
    spring = business_seconds(night, at("2026-03-29 00:00"), at("2026-03-29 12:00"))
    autumn = business_seconds(night, at("2026-10-25 00:00"), at("2026-10-25 12:00"))
    assert (spring, autumn) == (2 * 3600, 4 * 3600)  # the shift lost and gained an hour
    # A 9-to-5 day is 8 hours on both sides of the change, whatever UTC says.
    office = make_schedule(timezone="America/New_York", hours="mon-fri 09:00-17:00")
    before = business_seconds(
        office, at("2026-03-06 08:00", NEW_YORK), at("2026-03-06 18:00", NEW_YORK)
    )
    after = business_seconds(
        office, at("2026-03-09 08:00", NEW_YORK), at("2026-03-09 18:00", NEW_YORK)
    )
    assert before == after == 8 * 3600


def test_24_00_ends_at_midnight_and_joins_the_next_day() -> None:
    late = make_schedule(timezone="Europe/Madrid", hours="fri 20:00-24:00; sat 00:00-02:00")
    assert business_seconds(late, at("2026-03-06 23:00"), at("2026-03-07 01:00")) == 7200
    assert late.hours_text == "fri 20:00-24:00; sat 00:00-02:00"


def test_holidays_are_closed() -> None:
    with_holiday = make_schedule(
        timezone="Europe/Madrid", hours="mon-fri 09:00-17:00", holidays=["2026-12-25"]
    )
    # Thursday 24 December 16:00 -> Monday 28 December 10:00: one hour on the 24th, one on the 28th.
    assert business_seconds(with_holiday, at("2026-12-24 16:00"), at("2026-12-28 10:00")) == 7200


def test_many_conversations_at_once_match_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    base = dt.datetime(2026, 3, 20, tzinfo=dt.UTC).timestamp()
    inbound = base + rng.uniform(0, 20 * 86_400, 500)
    elapsed = rng.uniform(0, 5 * 86_400, 500)
    elapsed[::7] = np.nan  # unanswered
    fast = business_durations(OFFICE, inbound, elapsed)
    for i in range(0, 500, 37):
        if np.isnan(elapsed[i]):
            assert np.isnan(fast[i])
            continue
        start = dt.datetime.fromtimestamp(inbound[i], dt.UTC)
        end = dt.datetime.fromtimestamp(inbound[i] + elapsed[i], dt.UTC)
        assert fast[i] == pytest.approx(business_seconds(OFFICE, start, end), abs=1e-6)


@pytest.mark.parametrize(
    ("fields", "part"),
    [
        pytest.param({"timezone": "Mars/Olympus"}, "timezone", id="unknown-zone"),
        pytest.param({"hours": "tue 25:00-26:00"}, "tue 25:00", id="hour-25"),
        pytest.param({"hours": "mon 17:00-09:00"}, "ends before it starts", id="backwards"),
        pytest.param({"hours": "mon 09:00-13:00,12:00-17:00"}, "overlaps", id="overlap"),
        pytest.param({"hours": "funday 09:00-17:00"}, "not a day", id="bad-day"),
        pytest.param({"holidays": ["25/12/2026"]}, "holidays", id="holiday-not-a-date"),
        pytest.param({"first_response_target_s": -5}, "first_response_target", id="negative"),
    ],
)
def test_bad_schedules_name_the_part(fields: dict[str, object], part: str) -> None:
    values: dict[str, object] = {"timezone": "Europe/Madrid", "hours": "mon-fri 09:00-17:00"}
    values.update(fields)
    with pytest.raises(ScheduleError, match=part):
        make_schedule(**values)  # type: ignore[arg-type]


def test_hours_inside_the_spring_gap_count_nothing_and_never_twice() -> None:
    # 29 March 2026, Madrid: local 02:00-03:00 does not exist. An interval inside the gap is empty,
    # and one that ends inside it ends at the change (03:00 CEST), not after it.
    in_gap = make_schedule(timezone="Europe/Madrid", hours="mon-sun 02:30-03:00,09:00-17:00")
    assert business_seconds(in_gap, at("2026-03-29 01:00"), at("2026-03-29 04:00")) == 0
    ends_in_gap = make_schedule(timezone="Europe/Madrid", hours="mon-sun 00:00-02:30,03:00-08:00")
    # 00:00 to 08:00 local is 7 hours of real time that day, all of them open.
    assert business_seconds(ends_in_gap, at("2026-03-29 00:00"), at("2026-03-29 08:00")) == 7 * 3600


DST_ZONES = (
    "Europe/Madrid",
    "America/New_York",
    "Australia/Sydney",
    "America/Havana",  # changes at midnight: the gap starts a local day
    "America/Santiago",
)


@functools.cache
def changes(zone: str) -> list[dt.datetime]:
    """The instants (naive UTC) of the zone's offset changes in 2025-2027, found hour by hour."""
    tz = ZoneInfo(zone)
    hour = dt.datetime(2025, 1, 1)
    found = []
    while hour < dt.datetime(2028, 1, 1):
        later = hour + dt.timedelta(hours=1)
        offsets = (t.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset() for t in (hour, later))
        if next(offsets) != next(offsets):
            found.append(later)
        hour = later
    return found


@st.composite
def schedules(draw: st.DrawFn) -> str:
    """Random weekly hours: per day up to three ordered intervals on the quarter hour."""
    groups = []
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        marks = sorted(set(draw(st.lists(st.integers(0, 96), max_size=6))))
        spans = [
            f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}"
            for a, b in zip(marks[::2], marks[1::2], strict=False)
            if b > a
        ]
        if spans:
            groups.append(f"{day} {','.join(spans)}")
    return "; ".join(groups) or "mon 09:00-17:00"


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    hours=schedules(),
    change=st.integers(0, 5),
    shift_s=st.integers(-2 * 86400, 86400),
    length_s=st.integers(0, 3 * 86400),
)
def test_business_seconds_lie_between_zero_and_the_calendar_seconds(
    zone: str, hours: str, change: int, shift_s: int, length_s: int
) -> None:
    schedule = make_schedule(timezone=zone, hours=hours)
    # Spans around the zone's DST changes, where local time skips or repeats.
    start = changes(zone)[change] + dt.timedelta(seconds=shift_s)  # naive UTC, as stored
    end = start + dt.timedelta(seconds=length_s)
    seconds = business_seconds(schedule, start, end)
    assert 0 <= seconds <= length_s
    # The same through the vectorised path the consumer uses.
    epoch = (start - dt.datetime(1970, 1, 1)).total_seconds()
    many = business_durations(schedule, [epoch], [float(length_s)])
    assert many[0] == seconds


def test_a_conversation_without_an_inbound_message_has_no_business_time() -> None:
    monday_10 = (dt.datetime(2026, 3, 2, 9) - dt.datetime(1970, 1, 1)).total_seconds()
    found = business_durations(OFFICE, [np.nan, monday_10, monday_10], [np.nan, 1800.0, np.nan])
    assert np.isnan(found[0]) and found[1] == 1800 and np.isnan(found[2])


def test_today_is_the_team_s_date_not_the_host_s() -> None:
    from services.common.clock import today_in

    new_year_utc = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert today_in(ZoneInfo("Europe/Madrid"), new_year_utc) == dt.date(2027, 1, 1)
    assert today_in(ZoneInfo("America/New_York"), new_year_utc) == dt.date(2026, 12, 31)
