"""The languages people read Rapport in: catalogs, choosing one, and numbers and dates in it."""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    NumberPattern,
    format_compact_decimal,
    format_currency,
    format_decimal,
    format_percent,
    parse_pattern,
)

# English is the source language; the others have a catalog each under LOCALE_DIR.
LANGUAGES = ("en", "tr", "ar", "fa", "fi")
DEFAULT = "en"
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
DOMAIN = "rapport"
LOCALE_DIR = Path(__file__).parents[1] / "locale"

# Babel formats every locale with Latin digits; Arabic and Persian readers expect their own.
# The numbering system gives the locale's separators (fa "۱٬۲۳۴٫۵"), the map its digits.
_NUMBERING = {"ar": "arab", "fa": "arabext"}
_DIGITS = {
    "ar": str.maketrans("0123456789%", "٠١٢٣٤٥٦٧٨٩٪"),
    "fa": str.maketrans("0123456789%", "۰۱۲۳۴۵۶۷۸۹٪"),
}
NAMES = {  # each language by its own name, as a picker shows it
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "fa": "فارسی",
    "fi": "Suomi",
}


def N_(message: str) -> str:
    """Mark a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


class Problem(ValueError):
    """A refusal a person reads: `str()` is the English the CLI, logs and API answers show;
    `said_in(speaker)` is the same text in the page's language (`message` is marked with N_)."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values

    def said_in(self, speaker: Speaker) -> str:
        return speaker._(self.message, **self.values)


def supported(tag: str | None) -> str | None:
    """The language a tag names, if Rapport speaks it: "ar-SA" and "fa_IR" are ar and fa."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The most wanted language Rapport speaks in an Accept-Language header (q-values honoured,
    ties kept in the header's order); None when it names none of them."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = supported(tag)
        if language is not None and q > 0:
            wanted.append((-q, position, language))
    return min(wanted)[2] if wanted else None


def choose(*, own: str | None = None, header: str | None = None, default: str | None = None) -> str:
    """The account's own language, else the browser's Accept-Language, else RAPPORT_LANGUAGE,
    else English."""
    return supported(own) or from_accept_language(header) or supported(default) or DEFAULT


def direction(language: str) -> str:
    """The `dir` of a page in the language."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of a language. The install compiles each `rapport.po` to `rapport.mo`; a
    source tree whose `.mo` is missing or older than its `.po` (a catalog just edited) is
    compiled here in memory, so what runs is always what the `.po` says."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True)
class Speaker:
    """One language's words and figures: `_` and `n_` translate; the rest formats for reading."""

    language: str

    @property
    def dir(self) -> str:
        return direction(self.language)

    def _(self, message: str, /, **values: object) -> str:
        """The message in the language, its `{name}` placeholders filled from `values`."""
        text = translations(self.language).gettext(message)
        return text.format(**values) if values else text

    def n_(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The plural form the language's rules pick for `n` (Arabic has six); `{n}` is the
        count, in the language's digits."""
        text = translations(self.language).ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def digits(self, text: str) -> str:
        """Latin digits (and %) as the language writes them: Arabic ٠-٩, Persian ۰-۹."""
        table = _DIGITS.get(self.language)
        return text.translate(table) if table else text

    def _numbering(self) -> str:
        return _NUMBERING.get(self.language, "latn")

    def number(self, value: float | Decimal, decimals: int = 0) -> str:
        """1 234,5 (fi), 1.234,5 (tr), ۱٬۲۳۴٫۵ (fa)."""
        text = format_decimal(
            value,
            format=_pattern(self.language, "decimal", decimals),
            locale=self.language,
            numbering_system=self._numbering(),
        )
        return self.digits(text)

    def compact(self, value: float) -> str:
        """A large number shortened as the language does on a chart's axis: "1.2M",
        "1,2 milj." (fi), "۱٫۲ میلیون" (fa)."""
        text = format_compact_decimal(
            value, locale=self.language, fraction_digits=1, numbering_system=self._numbering()
        )
        return self.digits(text)

    def percent(self, rate: float, decimals: int = 1) -> str:
        """A rate (0.253) as the language writes a percentage: "25,3 %" (fi), "%25,3" (tr)."""
        text = format_percent(
            rate,
            format=_pattern(self.language, "percent", decimals),
            locale=self.language,
            numbering_system=self._numbering(),
        )
        return self.digits(text)

    def money(self, amount: float | Decimal, currency: str, decimals: int | None = None) -> str:
        """An amount in its currency as the language writes it; `decimals=0` drops the cents."""
        text = format_currency(
            amount,
            currency,
            format=_pattern(self.language, "currency", decimals),
            locale=self.language,
            numbering_system=self._numbering(),
            currency_digits=decimals is None,
        )
        return self.digits(text)

    def date(self, day: dt.date, form: str = "medium") -> str:
        """A date as the language writes it ("4 Dec 2026", "4.12.2026"); Persian adds the Jalali
        date before the Gregorian one where it stands alone (form "medium" or "long")."""
        text = self.digits(format_date(day, form, locale=self.language))
        if self.language == "fa" and form in ("medium", "long"):
            return f"{self.jalali(day)} ({text})"
        return text

    def day_month(self, day: dt.date) -> str:
        """A week by its Monday or a day on a chart's axis: "4 Dec", "4 دسامبر"."""
        return self.digits(format_date(day, "d MMM", locale=self.language))

    def month(self, day: dt.date) -> str:
        """The month a date falls in, named: "December 2026", "joulukuu 2026"."""
        return self.digits(format_date(day, "LLLL y", locale=self.language))

    def jalali(self, day: dt.date) -> str:
        """The Solar Hijri (Jalali) date, as Iran reads it: "۱۴ آذر ۱۴۰۵"."""
        year, month, dom = to_jalali(day)
        return self.digits(f"{dom} {JALALI_MONTHS[month - 1]} {year}")


@lru_cache(maxsize=256)
def _pattern(language: str, kind: str, decimals: int | None) -> NumberPattern | None:
    """The locale's own pattern of a kind (decimal, percent, currency) with `decimals` digits
    after the separator, parsed once (tables format thousands of figures); None keeps the
    locale's (and the currency's) own."""
    if decimals is None:
        return None
    formats = getattr(Locale.parse(language), f"{kind}_formats")
    pattern = formats["standard" if kind == "currency" else None].pattern
    fraction = "." + "0" * decimals if decimals else ""
    return parse_pattern(re.sub(r"0(\.[0#]+)?(?![0#.])", "0" + fraction, pattern))


JALALI_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)


def to_jalali(day: dt.date) -> tuple[int, int, int]:
    """Gregorian to Solar Hijri (year, month, day) by the 33-year arithmetic calendar, which
    agrees with Iran's astronomical one from 1178 to 1634 AP (1799-2256): the years a report
    names. Months 1-6 have 31 days, 7-11 have 30, Esfand 29 or 30."""
    year = 1404 + (day.toordinal() - _NOWRUZ_1404) * 33 // 12053
    while _new_year(year + 1) <= day.toordinal():
        year += 1
    while _new_year(year) > day.toordinal():
        year -= 1
    into = day.toordinal() - _new_year(year)
    month = 1 + into // 31 if into < 186 else 7 + (into - 186) // 30
    first = 31 * (month - 1) if month <= 7 else 186 + 30 * (month - 7)
    return year, month, 1 + into - first


_NOWRUZ_1404 = dt.date(2025, 3, 21).toordinal()  # 1 Farvardin 1404
_LEAP = (1, 5, 9, 13, 17, 22, 26, 30)  # leap years' places in each 33-year cycle


def _leap_years_before(year: int) -> int:
    cycles, place = divmod(year - 1, 33)
    return 8 * cycles + sum(1 for leap in _LEAP if leap <= place)


def _new_year(year: int) -> int:
    """The ordinal of 1 Farvardin of `year`."""
    return _NOWRUZ_1404 + 365 * (year - 1404) + _leap_years_before(year) - _leap_years_before(1404)


@lru_cache(maxsize=len(LANGUAGES))
def speaker(language: str) -> Speaker:
    """The Speaker of a language Rapport speaks (English for any other)."""
    return Speaker(supported(language) or DEFAULT)
