"""Chromium draws the moments form and list in Persian and Finnish, at desktop and phone
widths: mirrored for Persian, nothing wider than the screen, screenshots to look at
(RAPPORT_SCREENSHOTS names a folder to keep them in; else the test's own)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.domain import accounts
from services.domain.auth import Role
from services.moments import service
from services.moments.models import MomentCreate
from tests.moments.conftest import PASSWORD
from tests.moments.test_browser import CHROMIUM, served  # noqa: F401 (the served app fixture)

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
)
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def _seed(engine: Engine) -> None:
    with Session(engine) as session:
        for language in ("fa", "fi"):
            accounts.create(session, username=f"cm-{language}", password=PASSWORD, role=Role.admin)
            accounts.set_language(session, f"cm-{language}", language)
        for number, (people, change) in enumerate(
            [
                (
                    ["@zahra.karimi", "Zahra Karimi"],
                    "پس از پاسخ سریع ما، اشتراکش را یک سال تمدید کرد.",
                ),
                (
                    ["@mikko"],
                    "Kiitti julkisesti nopeasta avusta ja suositteli meitä kollegoilleen.",
                ),
                (["@ana_diaz"], "Pidió una demo tras nuestra respuesta a su historia."),
            ]
        ):
            service.create(
                session,
                data=MomentCreate.model_validate(
                    {
                        "occurred_on": f"2026-03-0{number + 1}",
                        "network": ("instagram", "linkedin", "twitter")[number],
                        "link": f"https://x.com/acme/status/{100 + number}",
                        "people": people,
                        "customer_status": "existing_customer",
                        "change": change,
                        "outcome": "retention",
                    }
                ),
                actor=f"cm-{'fa' if number == 0 else 'fi'}",
            )


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return dict(box)


@pytest.mark.parametrize("language", ["fa", "fi"])
def test_the_form_and_the_list_in_persian_and_finnish(
    served: str,  # noqa: F811
    engine: Engine,
    tmp_path: Path,
    language: str,
) -> None:
    from playwright.sync_api import sync_playwright

    _seed(engine)
    shots = Path(os.environ.get("RAPPORT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(served + "/login")
            page.fill("#username", f"cm-{language}")
            page.fill("#password", PASSWORD)
            page.press("#password", "Enter")
            page.wait_for_selector("#log-title")
            assert page.get_attribute("html", "dir") == ("rtl" if language == "fa" else "ltr")
            # Nothing runs off the side of the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            card, label = _box(page, "section.card"), _box(page, "label[for=link]")
            if language == "fa":  # mirrored: the label starts at the card's right edge
                assert label["x"] + label["width"] > card["x"] + card["width"] - 60, (label, card)
                # A moment typed in Spanish reads left to right inside the cell; the cell, and
                # on a phone its "What changed:" label, stay right to left.
                directions = page.evaluate(
                    "[...document.querySelectorAll('td.change, td.change bdi')]"
                    ".slice(0, 2).map(e => getComputedStyle(e).direction)"
                )
                assert directions == ["rtl", "ltr"], directions
            else:
                assert label["x"] < card["x"] + 60, (label, card)
            page.screenshot(path=str(shots / f"form-{language}-{name}.png"))
            page.locator("#moments").scroll_into_view_if_needed()
            page.locator("#moments").screenshot(path=str(shots / f"list-{language}-{name}.png"))
            page.close()
        browser.close()
