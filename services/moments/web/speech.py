"""The language of each page: which one a request reads, the templates rendering in it, and the
figures, dates and times as that language writes them (docs/using.md#languages)."""

from __future__ import annotations

import datetime as dt
from functools import cache, partial
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_time
from fastapi import Request
from fastapi.templating import Jinja2Templates

from services.common import i18n
from services.common.deps import settings_of
from services.domain.vocabulary import moment_word, network_label
from services.moments import sheets
from services.moments.deps import Principal

# The language a browser picked on the login page (before any account says which it reads).
LANGUAGE_COOKIE = "rapport_language"
TEMPLATE_DIR = Path(__file__).parents[1] / "templates"


def language_of(request: Request, principal: Principal | None) -> str:
    """The account's own language, else the one picked on this browser's login page, else the
    browser's Accept-Language, else RAPPORT_LANGUAGE."""
    own = principal.language if principal is not None else None
    return i18n.choose(
        own=own or request.cookies.get(LANGUAGE_COOKIE),
        header=request.headers.get("accept-language"),
        default=settings_of(request).rapport_language,
    )


def speaker_for(request: Request, principal: Principal | None) -> i18n.Speaker:
    return i18n.speaker(language_of(request, principal))


def local_time(at: dt.datetime, tz: ZoneInfo, say: i18n.Speaker) -> str:
    """A stored instant (naive UTC) in the team's zone (RAPPORT_TIMEZONE), as the language
    writes a date and a time."""
    local = at.replace(tzinfo=dt.UTC).astimezone(tz)
    clock = say.digits(format_time(local, "short", locale=say.language))
    # The zone ("+03", "CET") isolated: beside right-to-left text its sign and digits would
    # join the clock's.
    zone = f"\u2068{local.tzname()}\u2069" if say.dir == "rtl" else local.tzname()
    return say._("{date}, {time} {zone}", date=say.date(local.date()), time=clock, zone=zone)


def _day(value: dt.date | str, say: i18n.Speaker) -> str:
    """A day (a date, or as stored: YYYY-MM-DD) as the language writes it."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return say.date(day)


@cache
def templates(language: str) -> Jinja2Templates:
    """The pages' templates in one language. One environment per language, built once: pages
    render in a thread pool, so nothing about a language is installed per request."""
    say = i18n.speaker(language)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # newstyle: `_()` and `{% trans %}` escape the values they fill in, and fill %(name)s.
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(language), newstyle=True
    )
    environment.filters.update(
        network_label=partial(network_label, language=language),
        word=partial(moment_word, language=language),
        number=say.number,
        day=partial(_day, say=say),
        local_time=partial(local_time, say=say),
        money=say.money,
        sync_reason=partial(sheets.reason_said, sp=say),
    )
    environment.globals.update(lang=language, dir=say.dir, languages=i18n.NAMES)
    return Jinja2Templates(env=environment)
