"""The reports app in each language, through AppTest on real data: no English left in what a page
shows, right-to-left for Arabic and Persian, figures in the language's digits and separators,
and the language picker writing the account's own language."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.engine import Engine
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from services.common import i18n
from services.domain import accounts, competitors
from services.domain.auth import Role
from services.ingest.sink import write_batch
from services.reports import formatting as fmt
from tests.factories import batch, event
from tests.reports.test_app import APP, PAGES, app_env, seed  # noqa: F401  (the fixture)

LANGUAGES = ("tr", "ar", "fa", "fi")
# The Monthly report page names its file formats, and the setting and document an operator
# looks up (SMTP_HOST, docs/operating.md), as written.
PAGE_KEPT = {"views/report.py": {"HTML", "PDF", "SMTP", "HOST", "docs", "operating"}}
# Every page the navigation offers, those without CSV downloads (test_app's list) too.
SPOKEN = [*PAGES, "views/share_of_voice.py", "views/report.py"]
# What stays as written in every language: brands, codes, the seeded people's own words.
KEPT = {
    "Rapport", "Instagram", "Facebook", "Twitter", "LinkedIn", "TikTok", "YouTube", "CSV",
    "Bluesky", "Pinterest", "Reddit", "Threads", "WhatsApp", "rival",
    "SLA", "CSAT", "CPM", "CPC", "EUR", "USD", "UTC", "UTM", "Europe", "Istanbul",
    "ana", "maria", "spring", "script", "renewed", "brand",
    *" ".join(i18n.NAMES.values()).split(),
    # The shared vocabulary's common nouns (network "Email", moment words) get their catalog
    # entries with the moments site's translation; until then they read as English here.
    "Email",
}  # fmt: skip


def english_texts() -> list[str]:
    """The English source of every catalog entry, in literal pieces (placeholders cut out)."""
    with (i18n.LOCALE_DIR / "rapport.pot").open("rb") as pot:
        catalog = read_po(pot)
    pieces = []
    for message in catalog:
        if not message.id:
            continue
        for form in (message.id,) if isinstance(message.id, str) else message.id:
            pieces += [p.strip(" .,:;()*") for p in re.split(r"\{[^}]*\}", form)]
    # Single short words (Reach, Goal) are checked by the words test; these are sentences.
    return sorted({p for p in pieces if len(p.split()) >= 2 and not set(p.split()) <= KEPT})


def shown(at: AppTest) -> list[str]:
    """Every text the run shows: titles, captions, Markdown, metrics with their help, widgets'
    labels and options, table headers, buttons, and the charts' titles, axes and legends."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning",
                 "error", "success"):  # fmt: skip
        texts += [str(e.value) for e in at.get(kind)]
    for m in at.metric:
        texts += [m.label, str(m.value), m.proto.help]
    for kind in ("selectbox", "text_input", "number_input", "date_input", "button", "expander"):
        texts += [str(e.label) for e in at.get(kind)]
    for box in at.selectbox:
        texts += [str(o) for o in box.options]
    for frame in at.dataframe:
        texts += [str(c) for c in frame.value.columns]
    for kind in ("download_button", "link_button", "page_link"):
        texts += [e.proto.label for e in at.get(kind)]
    for chart in at.get("plotly_chart"):
        texts += chart_texts(json.loads(chart.proto.spec))
    # Streamlit's colour directives (":red[...]") are markup, not words.
    return [re.sub(r":(green|orange|red|gray)\[", "[", t) for t in texts if t]


def chart_texts(spec: dict[str, Any]) -> list[str]:
    layout = spec.get("layout", {})
    found = [str((layout.get("title") or {}).get("text", ""))]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            found.append(str((axis.get("title") or {}).get("text") or ""))
            found += [str(t) for t in axis.get("ticktext", [])]
    for trace in spec.get("data", []):
        found.append(str(trace.get("name") or ""))
        text = trace.get("text")  # a list of labels, or numbers packed as {"dtype", "bdata"}
        found += [str(t) for t in text if isinstance(t, str)] if isinstance(text, list) else []
        # What a hover label says around its values, and the values the page wrote.
        hover = re.sub(r"%\{[^}]*\}|<[^>]*>", "\n", trace.get("hovertemplate") or "")
        found += hover.split("\n")
        data = trace.get("customdata")
        if isinstance(data, list):
            found += [str(c) for row in data for c in (row if isinstance(row, list) else [row])]
    return found


def run_in(language: str, page: str, role: str = "manager") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": role, "language": language}
    at.run()
    if page != PAGES[0]:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def seeded(engine: Engine, app_env: None) -> Engine:  # noqa: F811
    seed(engine, dt.date.today().year)
    return engine


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page", SPOKEN)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_speaks_the_language(seeded: Engine, language: str, page: str) -> None:
    texts = shown(run_in(language, page))
    joined = re.sub(r"https?://\S+", "", "\n".join(texts))  # addresses are not words
    left = [e for e in english_texts() if re.search(rf"(?<!\w){re.escape(e)}(?!\w)", joined)]
    assert not left, f"English left on {page} in {language}: {left}"
    if language in i18n.RIGHT_TO_LEFT:
        # Arabic script only: any Latin word is English left over, unless kept on purpose.
        kept = KEPT | PAGE_KEPT.get(page, set())
        latin = {w for w in re.findall(r"[A-Za-z]{3,}", joined) if w not in kept}
        assert not latin, f"Latin words on {page} in {language}: {sorted(latin)}"
    else:
        english = {"the", "and", "with", "from", "this", "your", "yet", "which", "week"}
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", joined)}
        assert not words & english, f"English on {page} in {language}: {words & english}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("language", "impressions", "rtl"),
    [
        pytest.param("fa", "۵٬۰۰۰", True, id="fa"),
        pytest.param("ar", "٥٬٠٠٠", True, id="ar"),
        pytest.param("fi", "5\xa0000", False, id="fi"),
        pytest.param("tr", "5.000", False, id="tr"),
        pytest.param("en", "5,000", False, id="en"),
    ],
)
def test_figures_in_the_languages_digits_and_the_direction(
    seeded: Engine, language: str, impressions: str, rtl: bool
) -> None:
    at = run_in(language, "views/overview.py")
    values = {m.label: str(m.value) for m in at.metric}
    label = i18n.speaker(language)._("Impressions")
    assert values[label] == impressions
    if language in ("fa", "ar"):
        assert not [v for v in values.values() if re.search(r"[0-9]", v)], values
    styles = " ".join(e.proto.body for e in at.get("html"))
    assert ("direction: rtl" in styles) is rtl


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_picker_saves_the_accounts_language(seeded: Engine) -> None:
    with Session(seeded) as session:
        accounts.create(
            session, username="ana", password="correct horse battery", role=Role.manager
        )
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "manager"}
    at.run()
    picker = next(box for box in at.selectbox if box.label == "Language")
    assert i18n.NAMES["fi"] in picker.options and "فارسی" in picker.options
    picker.set_value("fi").run()
    assert not at.exception, [e.value for e in at.exception]
    with Session(seeded) as session:
        assert accounts.user_named(session, "ana").language == "fi"
    # The page speaks it at once, and the picker names it in Finnish.
    assert at.title[0].value.startswith("Kannattaako some?")
    assert any(box.label == "Kieli" for box in at.selectbox)


CHARTED = ["views/overview.py", "views/support.py", "views/brand.py", "views/outcomes.py",
           "views/moments.py", "views/share_of_voice.py"]  # fmt: skip
ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b")


def chart_figures(spec: dict[str, Any]) -> list[str]:
    """What a chart writes of its figures: ticks (axes and colour scale), the values its hover
    labels and bar texts show."""
    layout = spec.get("layout", {})
    found = [str(t) for t in layout.get("coloraxis", {}).get("colorbar", {}).get("ticktext", [])]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            found += [str(t) for t in axis.get("ticktext", [])]
    for trace in spec.get("data", []):
        data = trace.get("customdata", [])
        found += [str(c) for row in data for c in (row if isinstance(row, list) else [row])]
        text = trace.get("text")
        found += [str(t) for t in text if isinstance(t, str)] if isinstance(text, list) else []
    return found


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page", CHARTED)
@pytest.mark.parametrize("language", ["ar", "fa", "fi"])
def test_charts_write_figures_and_dates_in_the_language(
    seeded: Engine, language: str, page: str
) -> None:
    """Ticks and hover labels in the language's digits and month names (Plotly's own are
    English: "Mar 2", "20k"); right-to-left titles at the right."""
    if page == "views/share_of_voice.py":
        heard(seeded)
    specs = [json.loads(c.proto.spec) for c in run_in(language, page).get("plotly_chart")]
    assert specs, page
    for spec in specs:
        figures = chart_figures(spec)
        assert figures, (page, spec["layout"].get("title"))
        assert not [f for f in figures if ENGLISH_MONTHS.search(f)], (page, figures)
        if language in i18n.RIGHT_TO_LEFT:
            assert not [f for f in figures if re.search(r"[0-9]", f)], (page, figures)
            title = spec["layout"].get("title", {})
            assert title.get("xanchor") == "right" or not title.get("text"), (page, title)
        for trace in spec["data"]:  # no value left to d3's English formatting
            # (a heatmap's hours and weekdays are the page's own words: shown as given)
            unformatted = r"%\{[xyz][:|]" if trace["type"] == "heatmap" else r"%\{[xyz][:|}]"
            assert not re.search(unformatted, trace.get("hovertemplate") or ""), page


def heard(engine: Engine) -> None:
    """The brand's mentions and a competitor's, this year, for the Share of voice chart."""
    year = dt.date.today().year
    with Session(engine) as session:
        competitors.create(session, network="twitter", account="@rival", name="Rival", actor="t")
    mentions = [
        event(kind="mention", account=account, network="twitter", count=count,
              occurred_at=f"{year}-01-{day:02d}T10:00:00Z")
        for day in (5, 12, 19)
        for account, count in (("@brand", 30), ("@rival", 10))
    ]  # fmt: skip
    write_batch(engine, [batch(*mentions)], ZoneInfo("UTC"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_as_of_day_is_picked_in_the_language(seeded: Engine) -> None:
    """No calendar speaking English: a month by its name and a day in the language's digits,
    the day picked written out beneath (Persian: the Jalali date too), kept in the URL."""
    at = run_in("fa", "views/overview.py")
    assert not at.get("date_input")
    sp = i18n.speaker("fa")
    year = dt.date.today().year
    month = next(box for box in at.sidebar.selectbox if box.label == sp._("As of: month"))
    day = next(box for box in at.sidebar.selectbox if box.label == sp._("Day"))
    assert month.options[0] == "ژانویه" and day.options[:3] == ["۱", "۲", "۳"]
    month.set_value(1).run()
    day = next(box for box in at.sidebar.selectbox if box.label == sp._("Day"))
    day.set_value(31).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["as_of"] in (f"{year}-01-31", [f"{year}-01-31"])
    picked = sp.date(dt.date(year, 1, 31), "long")
    assert picked in [c.value for c in at.sidebar.caption]
    assert sp.digits(f"{year}") in at.caption[0].value  # the page's period names the day


HOURS = "Save business hours"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("field", "typed", "button", "notation"),
    [
        pytest.param("hours_", "tue 25:00-26:00", HOURS, {"tue"}, id="hours"),
        pytest.param("holidays_", "next friday", HOURS, {"next", "friday", "YYYY", "MM", "DD"},
                     id="holidays"),
        pytest.param("timezone_", "Mars/Olympus", HOURS, {"Mars", "Olympus", "IANA", "Europe",
                     "Madrid"}, id="timezone"),
        pytest.param("currency", "CHFF", "Save value model", {"CHFF", "ISO", "USD", "EUR"},
                     id="currency"),
        pytest.param("competitor", "", "Add competitor", set(), id="competitor"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("language", ["ar", "fa", "fi"])
def test_settings_say_why_not_saved_in_the_language(
    seeded: Engine, language: str, field: str, typed: str, button: str, notation: set[str]
) -> None:
    """A refused schedule, value model or competitor: the reason in the reader's language
    (the CLI and the API keep the English: tests/common/test_service_levels.py), what was
    typed and the notation asked for (mon-fri, 09:00, YYYY-MM-DD) as written."""
    sp = i18n.speaker(language)
    at = run_in(language, "views/settings.py")
    if field == "competitor":  # a name but no account
        next(t for t in at.text_input if t.label == sp._("Competitor name")).input("Rival")
    else:
        next(t for t in at.text_input if (t.key or "").startswith(field)).input(typed)
    next(b for b in at.button if b.label == sp._(button)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    [refused] = [e.value.replace("\\", "") for e in at.error]
    assert refused.startswith(sp._("Not saved: {reason}.", reason="").split(" ")[0]), refused
    english = {"is", "not", "a", "the", "must", "write", "characters", "time", "date", "code"}
    words = set(re.findall(r"[A-Za-z]+", refused))
    assert not words & english, refused
    if language in i18n.RIGHT_TO_LEFT:
        assert words <= notation | {"mon", "fri", "rival"}, refused


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("language", "start"), [("fa", "right"), ("fi", None)])
def test_table_cells_start_where_the_language_reads_from(
    seeded: Engine, language: str, start: str | None
) -> None:
    """The grid draws on a canvas: right to left, each column's cells are set to start at the
    right under their header (Streamlit put text at the left, figures at the right)."""
    at = run_in(language, "views/support.py")
    assert at.dataframe
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        columns = [str(c) for c in frame.value.columns]
        if start is None:
            assert not any(config.get(c, {}).get("alignment") for c in columns), config
        else:
            assert [config.get(c, {}).get("alignment") for c in columns] == [start] * len(columns)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_settings_tables_read_in_the_language(seeded: Engine) -> None:
    """Business hours column by column (the hours and dates in the form's notation, the target
    as a duration), the platform connections' counts in the language's digits."""
    from services.reports import schedules

    schedules.set_hours(
        seeded, account=None, timezone="Europe/Istanbul", hours="mon-fri 09:00-17:00",
        holidays="2026-12-25", first_response_target_s=3600, actor="t",
    )  # fmt: skip
    at = run_in("fa", "views/settings.py")
    sp = i18n.speaker("fa")
    hours = next(f.value for f in at.dataframe if sp._("Opening hours") in f.value.columns)
    [row] = hours.to_dict("records")
    assert row[sp._("Opening hours")] == "mon-fri 09:00-17:00"
    assert row[sp._("First-response target")] == fmt.duration(3600, sp)
    words = set(re.findall(r"[A-Za-z]+", " ".join(str(v) for v in row.values())))
    assert words <= {"mon", "fri", "Europe", "Istanbul"}, row


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        pytest.param("۵۵٬۰۰۰٬۰۰۰", 55_000_000, id="persian-digits-and-separators"),
        pytest.param("٢٫٥k", 2_500, id="arabic-decimal-and-k"),
        pytest.param("۶۰", 60, id="persian-share"),
        pytest.param("55,000,000", 55_000_000, id="latin"),
    ],
)
def test_goals_are_typed_in_the_languages_digits(typed: str, read: float) -> None:
    """A Persian or Arabic keyboard types its own digits and separators into the Goals form."""
    assert fmt.parse_amount(typed) == read


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page", ["views/conversations.py", "views/support.py"])
def test_an_answer_naming_nobody_is_unassigned_in_the_language(seeded: Engine, page: str) -> None:
    sp = i18n.speaker("fa")
    at = run_in("fa", page)
    agents = [
        str(v) for f in at.dataframe if sp._("Agent") in f.value.columns
        for v in f.value[sp._("Agent")]
    ]  # fmt: skip
    assert sp._("unassigned") in agents and "unassigned" not in agents, agents
