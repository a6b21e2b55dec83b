"""The reports app in headless Chromium, served by a real `streamlit run`, with real figures."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common import processes
from services.common.config import Settings
from services.domain import accounts
from services.domain.auth import Role
from services.domain.tables import UserSession
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.app import create_app as create_moments
from services.moments.models import MomentCreate
from services.reports.server import STREAMLIT_FLAGS
from tests.factories import batch, event, message
from tests.factories_moments import moment
from tests.reports.test_app import seed

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
APP = Path(__file__).parents[2] / "services" / "reports" / "app.py"
PASSWORD = "correct horse battery"
# The page's own first caption (the sidebar's writes out the as-of day).
MAIN_CAPTION = "[data-testid=stMain] [data-testid=stCaptionContainer]"
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)


@contextmanager
def sites(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`streamlit run` on the reports app and the moments site in this process: one login,
    on the moments site, serves both (the session cookie is shared by host)."""
    reports_port, moments_port = processes.free_port(), processes.free_port()
    reports, moments = f"http://127.0.0.1:{reports_port}/", f"http://127.0.0.1:{moments_port}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RAPPORT_TIMEZONE": "UTC",
        "REPORTS_METRICS_PORT": str(processes.free_port()),
        "MOMENTS_PUBLIC_URL": moments,
        "REPORTS_PUBLIC_URL": reports,
    }
    server = processes.spawn(
        [
            *(
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.port",
                str(reports_port),
            ),
            *STREAMLIT_FLAGS,
        ],
        env=env,
        log=tmp_path / "streamlit.log",
    )
    settings = Settings(  # type: ignore[call-arg]
        database_url=db_url,
        moments_grpc_port=0,
        reports_public_url=reports,
        _env_file=None,
    )
    site = uvicorn.Server(
        uvicorn.Config(
            create_moments(settings, sync_sheets=False), port=moments_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=site.run, daemon=True)
    thread.start()
    try:
        processes.wait_for_port(moments_port)
        processes.wait_for_port(reports_port, timeout_s=60)
        yield reports, moments
    finally:
        site.should_exit = True
        thread.join(10)
        processes.stop(server)


def launch(pw: Any) -> Any:
    """Headless Chromium as every browser test runs it."""
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def sign_in(page: Any, reports: str, username: str, *, opened: bool = False) -> None:
    """As a person does: open the reports, follow Log in, sign in on the moments site, come
    back to the reports."""
    if not opened:
        page.goto(reports, timeout=60_000)
    page.get_by_role("link", name="Log in").click()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.get_by_text("Is social paying off?").wait_for(timeout=60_000)


@contextmanager
def logged_in(db_url: str, tmp_path: Path, username: str) -> Iterator[Any]:
    """Both sites and a Chromium page signed in to the reports as `username`."""
    from playwright.sync_api import sync_playwright

    with sites(db_url, tmp_path) as (reports, _moments), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sign_in(page, reports, username)
        yield page
        browser.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_login_lasts_across_reloads_and_tabs_until_log_out(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with Session(engine) as session:
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
    outside: list[str] = []
    with sites(db_url, tmp_path) as (reports, moments), sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else (outside.append(r.url))
            ),
        )
        page = context.new_page()
        page.goto(reports, timeout=60_000)
        page.get_by_role("link", name="Log in").wait_for(timeout=60_000)
        # Before login: no navigation, no list of page files.
        assert page.get_by_test_id("stSidebarNav").count() == 0
        assert "overview" not in page.inner_text("body").lower()
        sign_in(page, reports, "exec", opened=True)
        page.reload()
        page.get_by_text("Is social paying off?").wait_for(timeout=60_000)  # F5 keeps it
        second = context.new_page()
        second.goto(reports + "conversations")  # a bookmark, in a second tab
        second.get_by_text("Support conversations", exact=True).wait_for(timeout=60_000)
        second.close()
        # The moments site knows the same person.
        page.goto(moments + "/")
        page.locator("#list-title").wait_for(timeout=30_000)
        page.goto(reports)
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("link", name="Log in").wait_for(timeout=60_000)
        page.reload()
        page.get_by_role("link", name="Log in").wait_for(timeout=60_000)  # ended, not hidden
        page.goto(moments + "/")
        page.get_by_role("button", name="Log in").wait_for(timeout=30_000)  # here too
        browser.close()
    with Session(engine) as session:
        assert session.exec(select(UserSession)).first() is None
    # Nothing loads from the internet: the favicon and every asset are served locally.
    assert outside == []


def settled(page: Any) -> None:
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stSkeleton]').length === 0", timeout=30_000
    )


def test_overview_renders_the_figures(engine: Engine, db_url: str, tmp_path: Path) -> None:
    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
    with logged_in(db_url, tmp_path, "exec") as page:
        page.get_by_text("5,000").first.wait_for(timeout=30_000)
        page.locator('[data-testid="stMetricValue"]').nth(9).wait_for(timeout=30_000)
        settled(page)
        shot = tmp_path / "overview.png"
        page.screenshot(path=str(shot), full_page=True)
        body = page.inner_text("body")
    assert (
        "Customer-support impact" in body
        and "Brand impact" in body
        and "Meaningful moments" in body
    )
    assert "5,000" in body  # impressions
    assert "on pace" in body or "behind" in body  # the goal's traffic light
    assert shot.stat().st_size > 20_000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_support_figure_opens_the_conversations_behind_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """The seed has two conversations: c1 on X answered in 20 min, c2 by email, unanswered."""
    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    expected = {
        "All of them": ("2 conversations", ""),
        "The answered ones": ("1 conversation", "answered"),
        "Not answered yet": ("1 conversation", "not answered yet"),
        "Answered within 1 h": ("1 conversation", "answered within 1 h"),
        "On social networks": ("1 conversation", "on social networks"),
        "By email": ("1 conversation", "by email"),
        "The SLA breaches": ("1 conversation", "first-response SLA breached"),
        "Email conversations": ("1 conversation", " · Email · "),
    }
    with logged_in(db_url, tmp_path, "lead") as page:
        for label, (count, narrowed) in expected.items():
            page.get_by_test_id("stSidebarNavLink").filter(has_text="Support impact").click()
            page.get_by_text("Response and resolution times").wait_for(timeout=30_000)
            settled(page)
            page.get_by_test_id("stPageLink").filter(has_text=label).first.click()
            page.get_by_text("Support conversations").wait_for(timeout=30_000)
            page.get_by_text(f"{count} · 1 to ").wait_for(timeout=30_000)
            caption = page.locator(MAIN_CAPTION).first.inner_text()
            assert narrowed in caption, (label, caption)
        page.screenshot(path=str(tmp_path / "conversations.png"), full_page=True)


# Each payload would set window.__xss if the browser ever ran it.
HOSTILE = {
    "account": '<img src=x onerror="window.__xss=1">',
    "change": "<script>window.__xss=2</script> **renewed** [x](javascript:window.__xss=3)",
    "people": '<svg onload="window.__xss=4">',
    "username": "<b onmouseover=window.__xss=5>eve</b>[x](javascript:window.__xss=6)",
    # Markdown that would draw a link where the page draws a caption or a link label.
    "agent": "[Session expired](https://evil.example/login)",
}

EVIL_LINK = "a[href^='https://evil.example']"  # our own links may carry the text in a query


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hostile_text_stays_inert_on_every_page(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Stored XSS through every field the reports show: account names from ingest, moment text
    and people, and the viewer's own username; no page runs any of it."""
    year = dt.date.today().year
    write_batch(
        engine,
        [
            batch(
                event(kind="impression", count=900, occurred_at=f"{year}-01-05T09:00:00Z"),
                event(
                    kind="like",
                    count=7,
                    account=HOSTILE["account"],
                    occurred_at=f"{year}-01-05T10:00:00Z",
                ),
                message("message_received", "c-hostile", f"{year}-01-05T11:00:00Z"),
                message(
                    "message_sent", "c-hostile", f"{year}-01-05T11:20:00Z", actor=HOSTILE["agent"]
                ),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(
                moment(
                    occurred_on=f"{year}-01-06",
                    change=HOSTILE["change"],
                    people=[HOSTILE["people"]],
                )
            ),
            actor="maria",
        )
        accounts.create(session, username=HOSTILE["username"], password=PASSWORD, role=Role.viewer)
    dialogs: list[str] = []
    seen: dict[str, str] = {}
    with logged_in(db_url, tmp_path, HOSTILE["username"]) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for title in ("Overview", "Support impact", "Brand impact", "Moments", "Goals"):
            page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
            page.wait_for_timeout(500)
            settled(page)
            seen[title] = page.inner_text("body")
            assert page.evaluate("window.__xss") is None, f"script ran on {title}"
            assert page.locator(EVIL_LINK).count() == 0, f"a link drawn from text on {title}"
        # Streamlit's own "Download as CSV" on a table would write the moment's text unguarded
        # (a formula in a spreadsheet): it is off, and our guarded download is there instead.
        table = page.get_by_test_id("stDataFrame").first
        table.hover()
        page.get_by_test_id("stElementToolbar").first.wait_for(state="attached", timeout=10_000)
        page.wait_for_timeout(500)
        assert table.locator("xpath=..").get_by_label("Download as CSV").count() == 0
        assert page.get_by_label("Download as CSV").count() == 0
        assert page.get_by_test_id("stDownloadButton").count() >= 1
        # The agent and network of a link (an e-mailed one, say) are shown as typed.
        agent = HOSTILE["agent"]
        link = urlencode({"agent": agent, "network": agent})
        page.goto(f"{page.url.rsplit('/', 1)[0]}/conversations?{link}")
        settled(page)
        page.get_by_role("heading", name="Support conversations").wait_for(timeout=30_000)
        assert page.locator(EVIL_LINK).count() == 0
        shown = page.inner_text("body").replace("\u2060", "")
        assert f"first answered by {agent}" in shown
    assert dialogs == []
    # The username is shown, as the text it is.
    assert HOSTILE["username"] in seen["Overview"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_settings_saves_business_hours_and_the_value_model_in_the_browser(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from services.domain.service_levels import load_schedules
    from services.reports import value

    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    with logged_in(db_url, tmp_path, "lead") as page:
        page.get_by_role("link", name="Settings").click()
        page.get_by_text("Business hours").first.wait_for(timeout=30_000)
        hours = page.get_by_role("textbox", name="Opening hours")
        hours.fill("mon-fri 09:00-12:00,13:00-17:00")
        hours.press("Enter")
        page.get_by_role("button", name="Save business hours").click()
        page.get_by_text("Business hours saved").wait_for(timeout=30_000)
        settled(page)
        page.wait_for_timeout(1000)  # the rerun after saving replaces the page's elements
        currency = page.get_by_role("textbox", name="Currency (three letters, e.g. EUR)")
        currency.fill("EUR")
        currency.press("Enter")
        page.get_by_role("button", name="Save value model").last.click()
        page.get_by_text(f"Value model for {dt.date.today().year} saved").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "settings.png"), full_page=True)
    with Session(engine) as session:
        stored = load_schedules(session).default
    assert stored is not None and stored.hours_text == "mon-fri 09:00-12:00,13:00-17:00"
    model = value.load(engine, dt.date.today().year)
    assert model is not None and model.currency == "EUR"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_bookmarked_page_is_the_first_request_a_fresh_server_sees(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """After a restart, an executive's bookmark to Support is the server's first request: it
    must be the app's Support page (a folder named pages/ once made Streamlit serve its files
    bare, without the app: a KeyError on the filters)."""
    from playwright.sync_api import sync_playwright

    seed(engine, dt.date.today().year)
    with Session(engine) as session:
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
    with sites(db_url, tmp_path) as (reports, moments), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(moments + "/login")  # signed in on the moments site: the cookie is shared
        page.fill("#username", "exec")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(moments + "/**")
        page.goto(reports + "support", timeout=60_000)
        page.get_by_text("Customer-support impact").wait_for(timeout=60_000)
        settled(page)
        body = page.inner_text("body")
        browser.close()
    assert "KeyError" not in body and "Support impact" in body  # the app's navigation is there


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_logged_out_link_logs_in_and_returns_to_its_view(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """An e-mailed /conversations?sla=breached&network=email: log in, then that very view; the
    sidebar's filters live in the URL, so the address of any page opens the same view."""
    from playwright.sync_api import sync_playwright

    seed(engine, dt.date.today().year)  # c2: by email, never answered (an SLA breach)
    with Session(engine) as session:
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    with sites(db_url, tmp_path) as (reports, _moments), sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{reports}conversations?sla=breached&network=email", timeout=60_000)
        page.get_by_role("link", name="Log in").click()
        page.fill("#username", "lead")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.get_by_role("heading", name="Support conversations").wait_for(timeout=60_000)
        settled(page)
        page.get_by_text("1 conversation · 1 to 1 shown").wait_for(timeout=30_000)
        caption = page.locator(MAIN_CAPTION).first.inner_text()
        assert "Email" in caption and "first-response SLA breached" in caption, caption
        # The sidebar names the slice the page shows, and keeps it on every page.
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Overview").click()
        page.get_by_text("Is social paying off?").wait_for(timeout=30_000)
        page.wait_for_function("location.search.includes('network=email')", timeout=30_000)
        shared = page.url
        # Another tab opened on that address shows the same slice.
        other = context.new_page()
        other.goto(shared, timeout=60_000)
        other.get_by_text("Is social paying off?").wait_for(timeout=60_000)
        settled(other)
        boxes = other.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
        network = boxes.filter(has_text="Network")
        assert network.get_by_role("combobox").input_value() == "Email"
        page.screenshot(path=str(tmp_path / "deep-link.png"), full_page=True)
        browser.close()


def test_the_outcomes_page_in_the_browser(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """A demo half-year of outcomes: every chart drawn with its title and axis titles, every
    table with its download, on a laptop and on a phone."""
    from services.demo import generate_moments, generate_outcomes

    year = dt.date.today().year
    seed(engine, year)
    until = dt.datetime.combine(dt.date.today(), dt.time())
    events = list(generate_outcomes(year, until))
    write_batch(
        engine, [batch(*events[i : i + 2000]) for i in range(0, len(events), 2000)], ZoneInfo("UTC")
    )
    with Session(engine) as session:
        for data in generate_moments(year, until):
            service.create(session, data=MomentCreate.model_validate(data), actor="demo")
        accounts.create(session, username="exec", password=PASSWORD, role=Role.viewer)
    from services.reports import value

    value.set_model(engine, year=year, actor="t", currency="USD", cpm=8.5, program_cost=120_000)
    shots = Path(os.environ.get("RAPPORT_SCREENSHOTS", tmp_path))
    with logged_in(db_url, tmp_path, "exec") as page:
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Outcomes").click()
        page.get_by_role("heading", name="Campaigns").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)
        settled(page)
        # SVG text has no innerText: read what the charts drew, a long title's lines joined.
        titles = page.locator(".js-plotly-plot .gtitle").evaluate_all(
            "els => els.map(e => { const lines = [...e.querySelectorAll('tspan.line')];"
            " return lines.length ? lines.map(t => t.textContent).join(' ') : e.textContent; })"
        )
        axes = page.locator(".js-plotly-plot .g-ytitle").all_text_contents()
        body = page.inner_text("body")
        downloads = page.get_by_test_id("stDownloadButton").count()
        for width, height in ((1366, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(1500)  # plotly redraws for the new width
            page.screenshot(path=str(shots / f"outcomes-{width}.png"))
            # The whole page: Streamlit scrolls inside its own container, so grow the window.
            tall = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
            page.set_viewport_size({"width": width, "height": int(tall) + 100})
            page.wait_for_timeout(1500)
            page.screenshot(path=str(shots / f"outcomes-{width}-whole.png"))
        # The Overview: the headline outcomes, and the two returns side by side.
        page.set_viewport_size({"width": 1366, "height": 900})
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Overview").click()
        page.get_by_text("Return on the programme, measured").wait_for(timeout=60_000)
        settled(page)
        overview = page.inner_text("body")
        tall = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": 1366, "height": int(tall) + 100})
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "overview-1366-whole.png"))
    assert titles[:2] == [
        f"Followers per network over {year}",
        "Visits → leads → conversions, per network",
    ]
    assert "Revenue in USD per network" in titles and "Revenue in EUR per network" in titles
    assert "followers" in axes and "USD" in axes and "EUR" in axes
    assert "Visits from social" in body and "Campaigns" in body  # tables are canvas-drawn
    assert downloads == 4
    assert "Outcomes from social" in overview and "Revenue from social" in overview
    assert "Return on the programme, modelled" in overview
    assert "no exchange rates" in overview
    assert (shots / "outcomes-390.png").stat().st_size > 20_000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_low_ratings_open_with_what_the_customers_said(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """What a manager reads: the quality figures written like every rate, each link whole, the
    low ratings' list with every comment in full (a table cell cuts it short), in English and
    Arabic, and Share of voice naming the network as people say it."""
    from services.domain import competitors

    year = dt.date.today().year
    utc = ZoneInfo("UTC")
    said = "The parcel came two days late and nobody answered my messages. " * 3
    english_on_arabic = '<b>bold?</b> =SUM(A1:A9) & "quotes"'
    rated = []
    for n, (stars, comment) in enumerate(((1, said.strip()), (2, english_on_arabic), (5, None))):
        c = f"q{n}"
        rated += [
            message("message_received", c, f"{year}-02-0{n + 1}T10:00:00Z"),
            message("message_sent", c, f"{year}-02-0{n + 1}T10:20:00Z", actor="ana"),
            message("conversation_resolved", c, f"{year}-02-0{n + 1}T11:00:00Z"),
            event(kind="rating", conversation_id=c, count=stars,
                  occurred_at=f"{year}-02-0{n + 1}T12:00:00Z",
                  attributes={"comment": comment} if comment else None),
        ]  # fmt: skip
    mentions = [event(kind="mention", count=30, occurred_at=f"{year}-02-10T09:00:00Z"),
                event(kind="mention", count=10, account="@rival",
                      occurred_at=f"{year}-02-10T09:00:00Z")]  # fmt: skip
    write_batch(engine, [batch(*rated, *mentions)], utc)
    with Session(engine) as session:
        competitors.create(session, network="twitter", account="@rival", name="Rival", actor="t")
        accounts.create(session, username="lead", password=PASSWORD, role=Role.manager)
    shots = Path(os.environ.get("RAPPORT_SCREENSHOTS", tmp_path))
    with logged_in(db_url, tmp_path, "lead") as page:
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Support impact").click()
        page.get_by_text("Response quality").wait_for(timeout=60_000)
        settled(page)
        metrics = page.get_by_test_id("stMetricValue").all_inner_texts()
        links = page.get_by_test_id("stPageLink").all_inner_texts()
        clipped = page.evaluate(
            "[...document.querySelectorAll('[data-testid=stPageLink] p, "
            "[data-testid=stPageLink] span')].filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.textContent)"
        )
        page.get_by_test_id("stPageLink").filter(has_text="Low ratings (1 or 2)").click()
        page.get_by_text("What the customers said").wait_for(timeout=60_000)
        # The cards arrive one after another: wait for the last (oldest) one.
        page.get_by_text("rated 1 of 5").wait_for(timeout=60_000)
        settled(page)
        listed = page.inner_text("body")
        page.screenshot(path=str(shots / "low-ratings-en.png"), full_page=True)
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Share of voice").click()
        page.get_by_text("Competitor mentions").first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        settled(page)
        voice = page.get_by_test_id("stMetricValue").all_inner_texts()
        legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
        # The same list in Arabic: the English comment keeps its own order on the RTL page.
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Conversations").click()
        page.get_by_text("Support conversations").wait_for(timeout=60_000)
        with Session(engine) as session:
            accounts.set_language(session, "lead", "ar")
        page.goto(page.url.split("?")[0] + "?only=low_rating", timeout=60_000)
        page.get_by_text("ما قاله العملاء").wait_for(timeout=60_000)
        page.get_by_text("التقييم ١ من ٥").wait_for(timeout=60_000)
        settled(page)
        arabic = page.inner_text("body")
        page.screenshot(path=str(shots / "low-ratings-ar.png"), full_page=True)
    quality_links = ("The rated conversations", "Low ratings (1 or 2)",
                     "The satisfied customers (4 or 5)", "The reopened conversations")  # fmt: skip
    assert all(any(label in link for link in links) for label in quality_links), links
    assert {"33.3 %", "2.67", "100.0 %", "0"} <= set(metrics), metrics
    assert not clipped, clipped
    assert "rated 1 of 5" in listed and "rated 2 of 5" in listed
    assert said.strip() in listed and english_on_arabic in listed
    assert "rated 5 of 5" not in listed  # a 5 is not a low rating
    assert voice[0] == "75.0 %" and legend == ["X (Twitter)"], (voice, legend)
    assert "\u2068" + english_on_arabic + "\u2069" in arabic
