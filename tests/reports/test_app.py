"""The Streamlit app through AppTest: every page renders with data and with an empty database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from services.common.config import get_settings
from services.common.db import get_engine
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.models import MomentCreate
from services.reports.goal_metrics import GoalMetric
from services.reports.goals import set_goal
from tests.factories import batch, event, message
from tests.factories_moments import moment

APP = str(Path(__file__).parents[2] / "services" / "reports" / "app.py")
PAGES = [
    "views/overview.py",
    "views/support.py",
    "views/brand.py",
    "views/outcomes.py",
    "views/moments.py",
    "views/conversations.py",
    "views/goals.py",
    "views/settings.py",
]


@pytest.fixture
def app_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RAPPORT_TIMEZONE", "UTC")
    get_settings.cache_clear()
    get_engine.cache_clear()
    from services.reports import cache

    cache.clear()
    yield
    cache.clear()
    get_settings.cache_clear()


def seed(engine: Engine, year: int) -> None:
    write_batch(
        engine,
        [
            batch(
                event(kind="impression", count=5000, occurred_at=f"{year}-02-10T09:00:00Z"),
                event(kind="like", count=120, occurred_at=f"{year}-02-10T18:00:00Z"),
                event(kind="reach", count=3000, occurred_at=f"{year}-02-11T09:00:00Z"),
                message("message_received", "c1", f"{year}-02-11T10:00:00Z"),
                message("message_sent", "c1", f"{year}-02-11T10:20:00Z"),
                message("message_received", "c2", f"{year}-02-12T10:00:00Z", network="email"),
                *outcome_events(year),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(
                moment(occurred_on=f"{year}-02-12", change="<script>x</script> renewed")
            ),
            actor="maria",
        )
        set_goal(session, year=year, metric=GoalMetric.impressions, target=100_000, actor="test")


def outcome_events(year: int) -> list[dict[str, object]]:
    """Followers, a campaign's visits and lead (a name a spreadsheet would run as a formula), and
    an order from a person of the seeded moment, the day after it."""
    spring = {"utm_source": "ig", "utm_campaign": "=spring"}
    return [
        event(
            kind="followers", network="instagram", count=1000, occurred_at=f"{year}-01-02T09:00Z"
        ),
        event(
            kind="followers", network="instagram", count=1100, occurred_at=f"{year}-02-10T09:00Z"
        ),
        event(
            kind="visit",
            network="instagram",
            count=200,
            attributes=spring,
            occurred_at=f"{year}-02-10T12:00:00Z",
        ),
        event(
            kind="lead",
            network="instagram",
            count=10,
            attributes=spring,
            occurred_at=f"{year}-02-10T12:00:00Z",
        ),
        event(
            kind="conversion",
            network="instagram",
            value="49.90",
            currency="EUR",
            actor="ana",
            attributes=spring,
            occurred_at=f"{year}-02-13T12:00:00Z",
        ),
    ]


def run_page(page: str | None, role: str = "manager") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": role}
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def consumer_commits(engine: Engine, count: int, next_offset: int) -> None:
    """Impressions written as the consumer writes them: with its progress, in one transaction."""
    import datetime as dt

    from services.ingest.rows import build_rows
    from services.ingest.sink import write

    at = f"{dt.date.today().year}-02-10T09:00:00Z"
    rows = build_rows(
        [batch(event(kind="impression", count=count, occurred_at=at))],
        engine.dialect.name,
        ZoneInfo("UTC"),
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows.progress = [("rapport-consumer", 0, next_offset, next_offset, None, now)]
    write(engine, rows)


def impressions(at: AppTest) -> str:
    return str({m.label: m.value for m in at.metric}["Impressions"])


def as_of_notes(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption if c.value.startswith("Figures as of")]


def test_figures_follow_the_consumers_commits(
    engine: Engine, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.reports import cache

    monkeypatch.setattr(cache, "_FRESHNESS", cache._Freshness())
    monkeypatch.setattr(cache, "VERSION_CHECK_S", 0.0)
    monkeypatch.setattr(cache, "STALE_OK_S", 0.0)
    consumer_commits(engine, 5000, next_offset=1)
    assert impressions(run_page(None)) == "5,000"
    consumer_commits(engine, 7000, next_offset=2)  # no cache cleared: the version moved
    at = run_page(None)
    assert impressions(at) == "12,000"
    assert as_of_notes(at) == []


def test_figures_just_before_a_commit_are_shown_as_of_while_new_ones_are_computed(
    engine: Engine, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from services.reports import cache

    monkeypatch.setattr(cache, "_FRESHNESS", cache._Freshness())
    monkeypatch.setattr(cache, "VERSION_CHECK_S", 0.0)
    monkeypatch.setattr(cache, "STALE_OK_S", 60.0)
    consumer_commits(engine, 5000, next_offset=1)
    assert impressions(run_page(None)) == "5,000"
    consumer_commits(engine, 7000, next_offset=2)
    at = run_page(None)
    assert impressions(at) == "5,000"
    assert as_of_notes(at)
    deadline = time.monotonic() + 30
    while cache._FRESHNESS.refreshing and time.monotonic() < deadline:
        time.sleep(0.05)
    at = run_page(None)
    assert impressions(at) == "12,000"
    assert as_of_notes(at) == []


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_data(engine: Engine, app_env: None, page: str) -> None:
    import datetime as dt

    seed(engine, dt.date.today().year)
    at = run_page(page)
    text = " ".join(m.value for m in at.markdown) + " ".join(str(m.value) for m in at.metric)
    assert "No interactions for this period" not in " ".join(i.value for i in at.info)
    if page == "views/overview.py":
        values = {m.label: m.value for m in at.metric}
        assert values["Impressions"] == "5,000"
        assert values["Conversations"] == "2"
        assert values["Moments"] == "1"
    if page in ("views/overview.py", "views/support.py", "views/brand.py"):
        # Under the executive figures: what they rest on (no consumer ran in this test).
        lines = [c.value for c in at.caption if c.value.startswith("Based on ")]
        assert lines, [c.value for c in at.caption]
        assert "could not be read or were refused this period" in lines[0]
        assert "the consumer has not reported yet" in lines[0]
    assert text is not None


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_an_empty_database(engine: Engine, app_env: None, page: str) -> None:
    """An empty year, said to each role as it can act on it: admins learn how to bring data in,
    everyone else reads no command they could not run."""
    admin, viewer = run_page(page, role="admin"), run_page(page, role="viewer")
    if page in ("views/overview.py", "views/support.py", "views/brand.py"):
        assert any("rapport demo" in i.value for i in admin.info)
        told = " ".join(i.value for i in viewer.info)
        assert "No interactions for this period yet" in told
        assert "rapport" not in told and "POST" not in told


def test_the_account_filter_keeps_to_the_chosen_network(engine: Engine, app_env: None) -> None:
    import datetime as dt

    at = f"{dt.date.today().year}-01-05T09:00:00Z"
    write_batch(
        engine,
        [
            batch(
                event(kind="like", network="twitter", account="@acme", occurred_at=at),
                event(kind="like", network="instagram", account="acme.shop", occurred_at=at),
                event(kind="like", network="linkedin", account=None, occurred_at=at),
                # One name on two networks: listed once, with both networks beside it.
                event(kind="like", network="facebook", account="Acme", occurred_at=at),
                event(kind="like", network="linkedin", account="Acme", occurred_at=at),
            )
        ],
        ZoneInfo("UTC"),
    )
    at = run_page(None)
    network = next(s for s in at.sidebar.selectbox if s.label == "Network")
    assert network.options == ["All networks", "Facebook", "Instagram", "LinkedIn", "X (Twitter)"]
    account = next(s for s in at.sidebar.selectbox if s.label == "Account")
    assert account.options == [
        "All accounts",
        "@acme · X (Twitter)",
        "Acme · Facebook and LinkedIn",
        "acme.shop · Instagram",
        "(sent without an account)",
    ]
    # A network chosen (AppTest reruns only the page after the first run, so start there).
    narrowed = AppTest.from_file(APP, default_timeout=60)
    narrowed.session_state["user"] = {"name": "ana", "role": "manager"}
    narrowed.session_state["network"] = "instagram"
    narrowed.run()
    account = next(s for s in narrowed.sidebar.selectbox if s.label == "Account")
    assert account.options == ["All accounts", "acme.shop"]
    assert not narrowed.exception


def test_login_is_required(engine: Engine, app_env: None) -> None:
    """Without a session the only page is the login, which leads to the moments site's login
    and back (the Chromium test follows it through)."""
    seed(engine, __import__("datetime").date.today().year)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Rapport"
    assert not at.metric and not at.dataframe  # no figure before login
    link = next(m.value for m in at.markdown if "Log in</a>" in m.value)
    assert 'href="http://127.0.0.1:8002/login?next=http%3A%2F%2F127.0.0.1%3A8501%2F"' in link
    assert 'target="_self"' in link


def test_viewers_read_goals_managers_edit(engine: Engine, app_env: None) -> None:
    import datetime as dt

    from services.reports import queries

    year = dt.date.today().year
    viewer = run_page("views/goals.py", role="viewer")
    assert any("admins and managers set them" in i.value for i in viewer.info)
    assert not viewer.text_input
    manager = run_page("views/goals.py", role="manager")
    inputs = {n.key: n for n in manager.text_input}
    # People type rates in percent and times in minutes; counts are whole numbers.
    assert inputs[f"goal_{year}_responded_within_1h_rate"].label == "Answered within 1 h (%)"
    assert inputs[f"goal_{year}_median_first_response_s"].label == (
        "Median first response, in minutes"
    )
    assert inputs[f"goal_{year}_impressions"].label == "Impressions"
    # Unset goals are empty, not 0.0; a number is typed as people say it.
    assert inputs[f"goal_{year}_impressions"].value == ""
    inputs[f"goal_{year}_impressions"].set_value("55M")
    inputs[f"goal_{year}_reach"].set_value("lots")
    inputs[f"goal_{year}_moments"].set_value("250")
    inputs[f"goal_{year}_responded_within_1h_rate"].set_value("60")
    inputs[f"goal_{year}_median_first_response_s"].set_value("30")
    next(b for b in manager.button if b.label == "Save goals").click().run()
    assert any("Reach: 'lots' is not a number" in e.value for e in manager.error)
    assert not queries.goals(engine, year)  # nothing saved while one field is wrong
    {n.key: n for n in manager.text_input}[f"goal_{year}_reach"].set_value("12,500,000")
    next(b for b in manager.button if b.label == "Save goals").click().run()
    assert any("Goals saved" in s.value for s in manager.success)
    stored = queries.goals(engine, year)
    assert stored["impressions"] == 55_000_000 and stored["reach"] == 12_500_000
    assert stored["moments"] == 250
    assert stored["responded_within_1h_rate"] == pytest.approx(0.60)
    assert stored["median_first_response_s"] == 1800
    # Read back as people read them.
    viewer = run_page("views/goals.py", role="viewer")
    table = viewer.dataframe[0].value
    targets = dict(zip(table["Goal"], table["Target"], strict=True))
    assert targets["Answered within 1 h"] == "60.0 %"
    assert targets["Median first response"] == "30 min"
    assert targets["Moments"] == "250"


def downloads(at: AppTest) -> dict[str, bytes]:
    """Every download button's file, as the browser would receive it (AppTest keeps the files
    in its in-memory media storage)."""
    import gc

    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stores = [o for o in gc.get_objects() if isinstance(o, MemoryMediaFileStorage)]
    managers = [o for o in gc.get_objects() if isinstance(o, MediaFileManager)]
    files = {}
    for button in at.get("download_button"):
        if button.proto.HasField("deferred_file_id"):  # made on click: run what a click runs
            file_id = button.proto.deferred_file_id
            made = [
                m._deferred_callables[file_id] for m in managers if file_id in m._deferred_callables
            ]
            assert made, f"no file behind {button.label!r}"
            data = made[0]["callable"]()
            files[button.label] = data.encode() if isinstance(data, str) else data  # type: ignore[assignment]
            continue
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
        found = [s._files_by_id[file_id] for s in stores if file_id in s._files_by_id]
        assert found, f"no file behind {button.label!r}"
        files[button.label] = found[0].content
    return files


@pytest.mark.parametrize("page", PAGES)
def test_every_csv_download_parses_back_and_runs_no_formula(
    engine: Engine, app_env: None, page: str
) -> None:
    import csv
    import datetime as dt
    import io

    year = dt.date.today().year
    seed(engine, year)
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(
                moment(
                    occurred_on=f"{year}-02-13",
                    change='=HYPERLINK("http://evil.example","x")',
                    people=["+cmd|' /C calc'!A0", "@eve"],
                )
            ),
            actor="maria",
        )
        set_goal(session, year=year, metric=GoalMetric.impressions, target=41_234_567, actor="t")
        set_goal(session, year=year, metric=GoalMetric.moments, target=250, actor="t")
    files = downloads(run_page(page))
    if page not in ("views/goals.py", "views/settings.py"):
        assert files, f"{page} offers no CSV download"
    for label, content in files.items():
        # For people: a byte-order mark (Excel reads UTF-8 then), their words and units.
        assert content.startswith("\ufeff".encode()), label
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        header = " ".join(rows[0])
        assert "(seconds)" not in header and "(0-1)" not in header and "_" not in header, header
        for row in rows[1:]:
            for value in row:
                assert not re.fullmatch(r"-?\d+\.\d{3,}", value), (
                    label,
                    value,
                )  # 46487.600000000006
                assert value not in ("twitter", "not_customer", "existing_customer"), (label, value)
        assert len(rows) >= 2, label
        assert {len(r) for r in rows} == {len(rows[0])}, f"{label}: ragged rows {rows}"
        for row in rows:
            for value in row:
                assert not value.startswith(("=", "+", "@", "\t", "\r")), (label, value)
                if value.startswith("-"):
                    float(value)  # only a negative number may start with a minus
    if page == "views/overview.py":
        goals = list(csv.DictReader(io.StringIO(files["Download goals (CSV)"].decode("utf-8-sig"))))
        assert goals[0]["Target"] == "41,234,567"
    if page == "views/moments.py":
        text = files["Download these moments (CSV)"].decode("utf-8-sig")
        assert "'=HYPERLINK" in text


def save(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()


def test_settings_page_saves_business_hours_and_refuses_bad_ones(
    engine: Engine, app_env: None
) -> None:
    from services.domain.service_levels import load_schedules

    viewer = run_page("views/settings.py", role="viewer")
    assert any("admins and managers change them" in i.value for i in viewer.info)
    assert not viewer.text_input
    manager = run_page("views/settings.py", role="manager")
    manager.text_input[0].input("Europe/Madrid")
    manager.text_input[1].input("mon-fri 09:00-12:00,13:00-17:00")
    manager.text_input[2].input("2026-12-25")
    save(manager, "Save business hours")
    assert any("Business hours saved" in s.value for s in manager.success), manager.error
    with Session(engine) as session:
        stored = load_schedules(session).default
    assert stored is not None and stored.hours_text == "mon-fri 09:00-12:00,13:00-17:00"
    manager.text_input[1].input("tue 25:00-26:00")
    save(manager, "Save business hours")
    # What was typed is shown as typed (Markdown-escaped): read as shown.
    refused = [e.value.replace("\\", "") for e in manager.error]
    assert any("tue 25:00" in e and "Not saved" in e for e in refused), (
        [e.value for e in manager.error],
        [s.value for s in manager.success],
        [t.value for t in manager.text_input],
    )
    with Session(engine) as session:
        assert load_schedules(session).default == stored  # nothing saved


def test_support_page_shows_business_hours_agents_and_links(engine: Engine, app_env: None) -> None:
    import datetime as dt

    seed(engine, dt.date.today().year)
    at = run_page("views/support.py")
    tables = " ".join(str(frame.value.to_dict()) for frame in at.dataframe)
    assert "Business hours" in tables and "Agent" in tables
    assert "median_first_response_s" not in tables  # people's labels, not the JSON keys
    labels = {m.label for m in at.metric}
    assert {"First-response SLA met", "SLA breaches"} <= labels


def test_overview_shows_what_social_earned_with_a_what_if(engine: Engine, app_env: None) -> None:
    import datetime as dt

    from services.reports import value

    year = dt.date.today().year
    seed(engine, year)
    empty = run_page("views/overview.py")
    assert any("No value model for this year" in i.value for i in empty.info)
    value.set_model(engine, year=year, actor="t", currency="EUR", cpm=10, program_cost=1000)
    from services.reports import cache

    cache.clear()  # as the Settings page does when it saves
    at = run_page("views/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    # Executives' totals in whole units (no cents); an unchanged what-if has no green arrow.
    assert metrics["Earned media"] == "€50"  # 5,000 impressions at a CPM of 10
    assert metrics["Total value"] == "€50"
    # The modelled return beside the measured one (the seeded €49.90 order from Instagram),
    # each with how it was worked out.
    cost = 1000 * dt.date.today().timetuple().tm_yday / (366 if year % 4 == 0 else 365)
    assert metrics["Return on the programme, modelled"] == f"{(50 - cost) / cost * 100:,.0f} %"
    assert metrics["Return on the programme, measured"] == f"{(49.9 - cost) / cost * 100:,.0f} %"
    captions = " ".join(c.value for c in at.caption)
    assert "revenue from social €50" in captions and "no exchange rates" in captions
    assert metrics["Revenue from social"] == "€50"
    assert metrics["Conversions within 90 days"] == "1"  # ana, the day after her moment
    unchanged = next(m for m in at.metric if m.label == "Total value, what if")
    # No change: "€0" in grey without an arrow, not a green "↑ €0".
    grey, no_arrow = unchanged.proto.MetricColor.GRAY, unchanged.proto.MetricDirection.NONE
    assert unchanged.proto.delta == "€0"
    assert (unchanged.proto.color, unchanged.proto.direction) == (grey, no_arrow)
    cpm = next(n for n in at.text_input if n.key == "if_cpm")
    program = next(n for n in at.text_input if n.key == "if_program_cost")
    assert cpm.value == "10" and "." not in program.value  # as people write it, not 10.00
    cpm.input("20").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Total value, what if"] == "€100"
    next(n for n in at.text_input if n.key == "if_cpm").input("lots").run()
    assert any("'lots' is not an amount" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Total value, what if"] == "€50"  # the stored CPM, not a guess
    assert metrics["Total value"] == "€50"  # nothing was saved
    assert value.load(engine, year).cpm == 10  # type: ignore[union-attr]


def test_settings_page_saves_the_value_model(engine: Engine, app_env: None) -> None:
    import datetime as dt

    from services.reports import value

    manager = run_page("views/settings.py", role="manager")
    next(t for t in manager.text_input if t.key == "currency").input("chf")
    next(t for t in manager.text_input if t.key == "value_cpm").input("12.5")
    next(t for t in manager.text_input if t.key == "value_program_cost").input("120,000")
    save(manager, "Save value model")
    assert any("Value model" in s.value for s in manager.success), [e.value for e in manager.error]
    stored = value.load(engine, dt.date.today().year)
    assert stored is not None and stored.currency == "CHF" and stored.cpm == 12.5
    assert stored.program_cost == 120_000
    # People's headers over the schedules (none set: always open), not "applies to".
    heads = [list(table.value.columns) for table in manager.dataframe]
    assert ["Applies to", "Opening hours"] in heads, heads
    # Shown again as people write it, not "120000.00".
    assert next(t for t in manager.text_input if t.key == "value_program_cost").value == "120,000"
    next(t for t in manager.text_input if t.key == "currency").input("CHFF")
    save(manager, "Save value model")
    assert any("currency" in e.value and "Not saved" in e.value for e in manager.error)
    next(t for t in manager.text_input if t.key == "currency").input("CHF")
    next(t for t in manager.text_input if t.key == "value_cpc").input("1,2,x")
    save(manager, "Save value model")
    # As the page reads it (the element keeps Markdown's escapes of the typed text).
    said = [e.value.replace("\\", "") for e in manager.error]
    assert any("Paid media CPC (per click): '1,2,x' is not an amount" in s for s in said), said


def first_run(page: str, **state: object) -> AppTest:
    """The app with sidebar state set before its first run, on `page`."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "manager"}
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_moments_page_keeps_to_the_period_and_network(engine: Engine, app_env: None) -> None:
    import datetime as dt

    year = dt.date.today().year
    seed(engine, year)  # events on X, so the sidebar offers it
    with Session(engine) as session:
        for day, network, change in (
            (f"{year}-01-10", "twitter", "january on x"),
            (f"{year}-01-12", "instagram", "january on instagram"),
            (f"{year}-03-10", "twitter", "march on x"),
        ):
            service.create(
                session,
                data=MomentCreate.model_validate(
                    moment(occurred_on=day, network=network, change=change)
                ),
                actor="maria",
            )
    at = first_run(
        "views/moments.py", **{f"as_of_{year}": dt.date(year, 1, 31), "network": "twitter"}
    )
    listed = downloads(at)["Download these moments (CSV)"].decode()
    assert "january on x" in listed
    assert "march on x" not in listed and "instagram" not in listed


def test_goals_are_not_held_against_a_slice(engine: Engine, app_env: None) -> None:
    import datetime as dt

    seed(engine, dt.date.today().year)
    at = first_run("views/overview.py", network="twitter")
    assert any("Goals are company-wide targets" in i.value for i in at.info)
    assert not any(
        "Progress against each goal" in str(c.proto.spec) for c in at.get("plotly_chart")
    )
    whole = first_run("views/overview.py")
    specs = [str(c.proto.spec) for c in whole.get("plotly_chart")]
    # Are we on track? A progress bar per goal, and a trend per lens against last year.
    assert any("Progress against each goal" in s for s in specs)
    for lens in ("Answered within 1 h per week", "Impressions per week", "Moments per week"):
        assert any(lens in s for s in specs), lens


def test_charts_read_as_people_read(engine: Engine, app_env: None) -> None:
    import datetime as dt
    import json

    seed(engine, dt.date.today().year)
    brand = [json.loads(c.proto.spec) for c in first_run("views/brand.py").get("plotly_chart")]
    weekly, rates = brand[0]["layout"], brand[1]["layout"]
    assert weekly["legend"]["y"] < 0  # under the dates: above, it ran into the title on a phone
    assert weekly["yaxis"]["rangemode"] == weekly["yaxis2"]["rangemode"] == "tozero"
    assert rates["yaxis"]["tickformat"] == ".1%"  # 2.6 %, not 0.026
    assert weekly["xaxis"]["tickformat"] == "%-d %b"  # weeks by their date, not 2026-W10
    # The right axis has round ticks of its own, and the year-to-date line is not under bars.
    assert weekly["yaxis2"]["tickmode"] == "auto" and weekly["yaxis2"]["tickformat"] == "~s"
    bars, line = brand[0]["data"][0], brand[0]["data"][1]
    assert max(bars["marker"]["opacity"]) < 1 and line["line"]["width"] >= 3
    # Tooltips in words: each point's sentence, nothing of Plotly's own field names.
    assert bars["hovertemplate"] == "%{customdata}<extra></extra>"
    assert any(
        t.startswith("Week of ") and t.endswith("<br>Impressions per week: 5,000")
        for t in bars["customdata"]
    )
    overview = first_run("views/overview.py")
    trends = [
        json.loads(c.proto.spec)["layout"]
        for c in overview.get("plotly_chart")
        if "per week" in str(c.proto.spec) and "What each week earned" not in str(c.proto.spec)
    ]
    for trend in trends:  # months along the bottom, not week numbers
        assert trend["xaxis"]["ticktext"][:3] == ["Jan", "Feb", "Mar"], trend["xaxis"]
    # No data last year: the page says why there is no second line.
    assert any("so there is no earlier line to compare" in c.value for c in overview.caption)
    moments_page = first_run("views/moments.py").get("plotly_chart")
    kinds = {json.loads(c.proto.spec)["data"][0]["type"] for c in moments_page}
    assert "pie" not in kinds  # labelled bars: no clipped pie labels


def test_every_agent_and_network_links_to_exactly_its_conversations(
    engine: Engine, app_env: None
) -> None:
    """Eight agents and seven networks: each gets its link, not only the first six; the
    unassigned row counts answered conversations that name nobody, and so does its link."""
    import datetime as dt
    from urllib.parse import parse_qs

    from services.domain.conversation_levels import Window, listing
    from services.domain.period import Period
    from services.domain.vocabulary import network_label

    year = dt.date.today().year
    seed(engine, year)  # c1 answered without an agent, c2 (email) never answered
    networks = ["facebook", "instagram", "linkedin", "tiktok", "youtube", "reddit"]
    write_batch(
        engine,
        [
            batch(
                *(
                    message(kind, f"a{i}", f"{year}-02-13T{10 + i}:{minute}:00Z",
                            network=networks[i % 6], actor=f"agent{i}" if sent else None)
                    for i in range(8)
                    for kind, minute, sent in (("message_received", "00", False),
                                               ("message_sent", "30", True))
                )
            )
        ],
        ZoneInfo("UTC"),
    )  # fmt: skip
    at = run_page("views/support.py")
    # Labels are Markdown-escaped (agents' names are user text): read them as shown.
    links = {
        link.value.replace("\\", ""): parse_qs(link.proto.query_string) for link in at.page_link
    }
    for i in range(8):
        assert links[f"agent{i}"] == {"agent": [f"agent{i}"], "only": ["answered"]}
    for name in ["twitter", "email", *networks]:
        assert links[f"{network_label(name)} conversations"] == {"network": [name]}
    unassigned = links["unassigned"]
    period = Period.of(year, None, ZoneInfo("UTC"))
    window = Window(
        period.start_utc, period.end_utc, agent=unassigned["agent"][0], only=unassigned["only"][0]
    )
    assert [row["conversation_id"] for row in listing(engine, window)] == ["c1"]


def test_the_conversation_list_is_newest_first_paged_and_counted(
    engine: Engine, app_env: None
) -> None:
    """205 conversations, one a day from 1 January of last year (a whole year, all of it in
    the past): every one is reachable, newest first by default, 100 a page, the order and page
    in the URL."""
    import datetime as dt

    year = dt.date.today().year - 1
    first_day = dt.date(year, 1, 1)
    days = [first_day + dt.timedelta(days=i) for i in range(205)]
    write_batch(
        engine,
        [
            batch(
                *(
                    message("message_received", f"c{i}", f"{d}T09:00:00Z")
                    for i, d in enumerate(days)
                )
            )
        ],
        ZoneInfo("UTC"),
    )
    as_of = dt.date(year, 12, 31)

    def page(**query: str) -> tuple[list[str], str]:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["user"] = {"name": "ana", "role": "viewer"}
        at.session_state["year"] = year
        at.session_state[f"as_of_{year}"] = as_of
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        at.switch_page("views/conversations.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        started = list(at.dataframe[0].value["Started"])
        return started, " ".join(c.value for c in at.caption)

    newest, caption = page()
    assert "205 conversations · 1 to 100 shown, newest first" in caption
    assert newest[0] == f"{days[-1]:%-d %b} 09:00" and len(newest) == 100
    last, caption = page(page="3")
    assert "201 to 205 shown" in caption and last[-1] == f"{days[0]:%-d %b} 09:00"
    oldest, _ = page(sort="oldest")
    assert oldest[0] == f"{days[0]:%-d %b} 09:00"
    _, caption = page(page="99")  # a page past the end shows the last one
    assert "201 to 205 shown" in caption


def test_the_sidebar_filters_live_in_the_url(engine: Engine, app_env: None) -> None:
    import datetime as dt

    year = dt.date.today().year
    seed(engine, year)
    write_batch(engine, [batch(event(occurred_at=f"{year - 1}-06-01T10:00:00Z"))], ZoneInfo("UTC"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "viewer"}
    at.query_params["network"] = "email"
    at.query_params["year"] = str(year - 1)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    network = next(s for s in at.sidebar.selectbox if s.label == "Network")
    assert network.value == "email"
    # The other site of the same login, from every page.
    [moments] = at.get("link_button")
    assert moments.proto.label == "Moments log" and moments.proto.url.endswith(":8002/")
    year_box = next(s for s in at.sidebar.selectbox if s.label == "Year")
    assert year_box.value == year - 1
    assert year_box.options == [str(year), str(year - 1)]  # years with data only
    network.set_value("twitter").run()
    assert at.query_params["network"] in ("twitter", ["twitter"])  # AppTest keeps lists or str
    next(s for s in at.sidebar.selectbox if s.label == "Year").set_value(year).run()
    assert "year" not in at.query_params  # the default needs no parameter
    at.query_params["network"] = "nowhere"  # a link naming no network changes nothing
    at.run()
    assert next(s for s in at.sidebar.selectbox if s.label == "Network").value == "twitter"


def test_a_sliced_page_names_its_slice_and_hides_what_a_slice_cannot_mean(
    engine: Engine, app_env: None
) -> None:
    """Network = X: every title names it; the return (against the whole programme's cost) and
    the social share of support (all or nothing within one network) are not shown as figures."""
    import datetime as dt

    from services.reports.value import set_model

    year = dt.date.today().year
    seed(engine, year)
    set_model(engine, year=year, actor="t", cpm="10", program_cost="1000")
    for page in ("views/overview.py", "views/support.py", "views/brand.py", "views/moments.py"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["user"] = {"name": "ana", "role": "viewer"}
        at.query_params["network"] = "twitter"
        at.run()
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        title = at.title[0].value.replace("\\", "")  # Markdown-escaped: read as shown
        assert "X (Twitter)" in title, (page, title)
        shown = " ".join(c.value for c in at.caption).replace("\\", "")
        assert "all networks and accounts" not in shown.replace("shown for all networks", ""), page
        metrics = {m.label: m.value for m in at.metric}
        if "Social share of support" in metrics:
            assert metrics["Social share of support"] == "—"
        if "Social share" in metrics:
            assert metrics["Social share"] == "—"
        if "Return on the programme" in metrics:
            assert metrics["Return on the programme"] == "—"
            assert "Programme cost to date" not in metrics


def test_the_outcomes_page(engine: Engine, app_env: None) -> None:
    import datetime as dt
    import json

    seed(engine, dt.date.today().year)
    at = run_page("views/outcomes.py")
    values = {m.label: m.value for m in at.metric}
    assert values["Followers"] == "1,100"
    assert values["Visits from social"] == "200"
    assert values["Conversions"] == "1"
    assert values["Revenue in EUR"] == "€50"  # a headline total: whole units
    charts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    titles = [c["title"]["text"].replace("<br>", " ") for c in charts]  # long ones in lines
    assert titles[:2] == [
        f"Followers per network over {dt.date.today().year}",
        "Visits → leads → conversions, per network",
    ]
    assert "Revenue in EUR per network" in titles
    growth = charts[0]
    assert growth["yaxis"]["title"]["text"] == "followers"
    assert growth["xaxis"]["tickformat"] == "%-d %b"
    files = downloads(at)
    assert set(files) == {
        "Download follower growth (CSV)",
        "Download the funnel per network (CSV)",
        "Download revenue per currency (CSV)",
        "Download campaigns (CSV)",
    }
    assert "'=spring" in files["Download campaigns (CSV)"].decode()


def test_the_outcomes_page_says_how_to_connect_when_empty(engine: Engine, app_env: None) -> None:
    at = run_page("views/outcomes.py")
    assert any("ga4_report" in i.value and "Shopify" in i.value for i in at.info)


def test_a_year_of_follower_snapshots_only_draws_its_outcomes_page(
    engine: Engine, app_env: None
) -> None:
    """Followers counted, no visit, lead or conversion: the funnel says so (it raised on an
    empty chart)."""
    import datetime as dt

    year = dt.date.today().year
    write_batch(engine, [batch(*outcome_events(year)[:2])], ZoneInfo("UTC"))
    at = run_page("views/outcomes.py")
    assert "No visits, leads or conversions this year." in [c.value for c in at.caption]
