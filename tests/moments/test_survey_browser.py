"""The survey page in headless Chromium on a phone (390x844): a customer rates in English,
Persian and Arabic (mirrored), with HTML in the comment shown as text, and opening the link
again finds the answer given. Screenshots: /tmp/quality-shots/
(RAPPORT_SHOTS moves them)."""

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

from services.common import processes
from services.common.config import Settings
from services.moments import surveys
from services.moments.app import create_app
from tests.ingest.helpers import running_consumer, wait_until
from tests.moments.test_surveys import rating_of

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("RAPPORT_SHOTS", "/tmp/quality-shots"))
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)
SECRET = "survey-browser-secret"


@pytest.fixture
def served(settings: Settings, engine: Engine) -> Iterator[tuple[str, Settings]]:
    mine = settings.model_copy(update={"rapport_survey_secret": SECRET, "moments_grpc_port": 0})
    port = processes.free_port()
    app = create_app(mine, engine=engine, sync_sheets=False)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    processes.wait_for_port(port)
    yield f"http://127.0.0.1:{port}", mine
    server.should_exit = True
    thread.join(10)


def link(conversation: str) -> str:
    key = SECRET.encode()
    survey = surveys.mint(key, network="instagram", conversation_id=conversation, days=30,
                          now=time.time())  # fmt: skip
    return f"/s/{surveys.token_of(key, survey)}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_customer_rates_on_a_phone(
    served: tuple[str, Settings], engine: Engine, db_url: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for lang, conversation in (("en", "ig-1"), ("fa", "ig-2"), ("ar", "ig-3")):
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                locale=lang,
                extra_http_headers={"Accept-Language": lang},
            )
            page = context.new_page()
            seen: list[str] = []
            page.on("request", lambda r, into=seen: into.append(r.url))
            page.goto(base + link(conversation))
            assert page.get_attribute("html", "dir") == ("ltr" if lang == "en" else "rtl")
            # Phone-first: nothing wider than the screen, every choice a full-width target.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            boxes = [page.locator("label.choice").nth(i).bounding_box() for i in range(5)]
            assert all(b is not None and b["width"] > 300 and b["height"] >= 44 for b in boxes)
            page.screenshot(path=str(SHOTS / f"survey-{lang}.png"), full_page=True)
            page.locator("input[name=rating][value='4']").check()
            page.fill("#comment", "<img src=x onerror=alert(1)> quick & kind")
            page.click("button[type=submit]")
            page.wait_for_selector("blockquote")
            assert page.inner_text("blockquote") == "<img src=x onerror=alert(1)> quick & kind"
            assert page.locator("img").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(SHOTS / f"survey-thanks-{lang}.png"), full_page=True)
            # Opened again: the answer given, to change or keep (a new one replaces it whole).
            page.goto(base + link(conversation))
            assert page.locator("input[name=rating][value='4']").is_checked()
            assert page.input_value("#comment") == "<img src=x onerror=alert(1)> quick & kind"
            assert page.locator("p.notice").count() == 1
            assert all(url.startswith(base) for url in seen), seen  # no external asset
            context.close()
        page = browser.new_page(viewport={"width": 360, "height": 740})
        page.goto(base + "/s/not-a-link")
        page.screenshot(path=str(SHOTS / "survey-invalid.png"), full_page=True)
        assert "no longer valid" in page.inner_text("h1")
        browser.close()
    with running_consumer(settings, engine):
        wait_until(
            lambda: (
                (rating_of(engine, "ig-1"), rating_of(engine, "ig-2"), rating_of(engine, "ig-3"))
                == ((4, "<img src=x onerror=alert(1)> quick & kind", "default"),) * 3
            ),
            what="the three ratings",
        )
