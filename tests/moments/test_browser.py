"""A real browser (headless Chromium) logs in, logs a moment through the form, finds it listed."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import processes
from services.common.config import Settings
from services.domain import accounts
from services.domain.auth import Role
from services.moments.app import create_app

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)


@pytest.fixture
def served(moments_settings: Settings, engine: Engine) -> Iterator[str]:
    port = processes.free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(moments_settings, engine=engine, sync_sheets=False),
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    processes.wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_log_a_moment_in_chromium(served: str, engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with Session(engine) as session:
        accounts.create(
            session, username="maria", password="correct horse battery", role=Role.manager
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(served + "/")
        page.fill("#username", "maria")
        page.fill("#password", "correct horse battery")
        page.press("#password", "Enter")
        page.wait_for_selector("text=Log a meaningful moment")
        page.fill("#link", "https://www.instagram.com/p/Rapport123/")
        assert page.input_value("#network") == "instagram"  # guessed as the link was pasted
        page.fill("#people", "@zoe, Zoë Brand")
        page.check("input[name=customer_status][value=prospect]")
        page.check("input[name=initiated_by][value=brand]")
        page.fill("#change", "<b>Asked</b> for a demo after our reply to her story.")
        page.select_option("#outcome", "expansion")
        started = time.monotonic()
        page.click("button:has-text('Log moment')")
        page.wait_for_selector("text=Moment logged")
        elapsed = time.monotonic() - started
        said = page.inner_text("p.success[role=status]")
        assert "will be written to the sheet once the sync is set up" in said, said
        assert "<b>Asked</b> for a demo" in page.inner_text(".change-big")  # shown as text
        page.screenshot(path=str(tmp_path / "moment.png"))
        page.goto(served + "/?q=zo%C3%AB")
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        assert "Zoë Brand" in rows.first.inner_text()
        browser.close()
    assert elapsed < 10


def test_phone_cards_switch_confirmed_delete_and_undo(
    served: str, engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from services.moments import service
    from services.moments.models import MomentCreate
    from tests.factories_moments import moment

    with Session(engine) as session:
        accounts.create(
            session, username="maria", password="correct horse battery", role=Role.manager
        )
        logged = service.create(
            session,
            data=MomentCreate.model_validate(moment(change="Renewed after our fix.")),
            actor="maria",
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(served + "/")
        page.fill("#username", "maria")
        page.fill("#password", "correct horse battery")
        page.press("#password", "Enter")
        page.wait_for_selector("text=Log a meaningful moment")
        # A phone: the list is cards (no header row, each cell labelled), one tap away.
        assert page.is_visible("nav.switch")
        assert not page.is_visible("table thead")
        label = page.evaluate(
            "getComputedStyle(document.querySelector('tbody td'), '::before').content"
        )
        assert label == '"Date: "'
        width = page.evaluate("document.querySelector('tbody tr').getBoundingClientRect().width")
        assert width <= 390
        page.click("nav.switch >> text=Moments")
        page.wait_for_function("window.scrollY > 300")
        page.screenshot(path=str(tmp_path / "cards.png"))
        # Delete asks first: saying no keeps the moment.
        page.goto(f"{served}/moments/{logged.id}")
        page.once("dialog", lambda d: d.dismiss())
        page.click("button:has-text('Delete')")
        page.wait_for_timeout(300)
        assert "/moments/" in page.url and page.is_visible("text=Renewed after our fix.")
        # Saying yes deletes, and the list offers the undo.
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Delete')")
        page.wait_for_selector("text=Moment deleted")
        page.click("button:has-text('Undo')")
        page.wait_for_selector("text=Delete undone")
        browser.close()
