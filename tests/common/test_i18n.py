"""Choosing a language, and numbers, percentages, money and dates as each language writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("ar-SA,ar;q=0.9,en;q=0.8", "ar", id="region"),
        pytest.param("de-DE,fa;q=0.5,fi;q=0.7", "fi", id="q-values"),
        pytest.param("fi;q=0, tr", "tr", id="q-zero-refuses"),
        pytest.param("tr;q=0.8, fa;q=0.8", "tr", id="ties-keep-order"),
        pytest.param("fa_IR", "fa", id="underscore"),
        pytest.param("de, xx-YY", None, id="none-spoken"),
        pytest.param("fi;q=abc, en;q=0.1", "en", id="bad-q"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_the_accounts_language_wins_then_the_browser_then_the_setting() -> None:
    assert i18n.choose(own="fi", header="ar", default="tr") == "fi"
    assert i18n.choose(own=None, header="ar", default="tr") == "ar"
    assert i18n.choose(own=None, header="de", default="tr") == "tr"
    assert i18n.choose(own="xx", header=None, default="klingon") == "en"


@pytest.mark.parametrize(
    ("language", "number", "percent", "money"),
    [
        pytest.param("en", "1,234.5", "25.3%", "€1,234.50", id="en"),
        pytest.param("fi", "1\xa0234,5", "25,3\xa0%", "1\xa0234,50\xa0€", id="fi"),
        pytest.param("tr", "1.234,5", "%25,3", "€1.234,50", id="tr"),
        pytest.param("ar", "١٬٢٣٤٫٥", "٢٥٫٣٪", "\u200f١٬٢٣٤٫٥٠\xa0€", id="ar"),
        pytest.param("fa", "۱٬۲۳۴٫۵", "۲۵٫۳٪", "\u200e€\xa0۱٬۲۳۴٫۵۰", id="fa"),
    ],
)
def test_figures_in_each_language(language: str, number: str, percent: str, money: str) -> None:
    speaker = i18n.speaker(language)
    assert speaker.number(1234.5, 1) == number
    assert speaker.percent(0.253) == percent
    assert speaker.money(1234.5, "EUR") == money


def test_money_without_cents() -> None:
    assert i18n.speaker("en").money(120000, "USD", 0) == "$120,000"
    assert i18n.speaker("fi").money(120000, "EUR", 0) == "120\xa0000\xa0€"


@pytest.mark.parametrize(
    ("day", "jalali"),
    [
        pytest.param(dt.date(2025, 3, 21), (1404, 1, 1), id="nowruz-1404"),
        pytest.param(dt.date(2024, 3, 20), (1403, 1, 1), id="nowruz-1403"),
        pytest.param(dt.date(2025, 3, 20), (1403, 12, 30), id="leap-esfand-30"),
        pytest.param(dt.date(2020, 3, 20), (1399, 1, 1), id="nowruz-1399"),
        pytest.param(dt.date(2026, 3, 21), (1405, 1, 1), id="nowruz-1405"),
        pytest.param(dt.date(2026, 9, 22), (1405, 6, 31), id="last-31-day-month"),
        pytest.param(dt.date(2026, 9, 23), (1405, 7, 1), id="mehr"),
        pytest.param(dt.date(2026, 12, 5), (1405, 9, 14), id="azar"),
        pytest.param(dt.date(1979, 2, 11), (1357, 11, 22), id="bahman-1357"),
    ],
)
def test_jalali_dates(day: dt.date, jalali: tuple[int, int, int]) -> None:
    assert i18n.to_jalali(day) == jalali


def test_every_day_of_a_jalali_year_follows_the_one_before() -> None:
    day, previous = dt.date(2020, 1, 1), i18n.to_jalali(dt.date(2019, 12, 31))
    while day < dt.date(2031, 1, 1):
        current = i18n.to_jalali(day)
        y, m, d = previous
        assert current in ((y, m, d + 1), (y, m + 1, 1), (y + 1, 1, 1)), (day, previous, current)
        assert current[2] <= (31 if current[1] <= 6 else 30)
        day, previous = day + dt.timedelta(days=1), current


def test_dates_in_each_language() -> None:
    day = dt.date(2026, 12, 5)
    assert i18n.speaker("en").date(day) == "Dec 5, 2026"
    assert i18n.speaker("fi").date(day) == "5.12.2026"
    assert i18n.speaker("tr").date(day) == "5 Ara 2026"
    assert i18n.speaker("fa").date(day) == "۱۴ آذر ۱۴۰۵ (۵ دسامبر ۲۰۲۶)"
    assert i18n.speaker("fa").day_month(day) == "۵ دسامبر"
    assert i18n.speaker("fi").month(day) == "joulukuu 2026"


def test_direction() -> None:
    assert [i18n.speaker(lang).dir for lang in i18n.LANGUAGES] == [
        "ltr",
        "ltr",
        "rtl",
        "rtl",
        "ltr",
    ]


def test_decimals_are_exactly_those_asked_for() -> None:
    speaker = i18n.speaker("en")
    assert speaker.number(1234.5678) == "1,235"
    assert speaker.number(1234.5678, 2) == "1,234.57"
    assert speaker.percent(0.12345, 0) == "12%"
    assert i18n.speaker("fi").number(0.5, 1) == "0,5"
