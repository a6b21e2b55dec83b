"""Importing a hand-kept MRM sheet once: column mapping, unreadable rows, idempotent re-runs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common.config import Settings
from services.domain.tables import Moment
from services.moments.sheet_import import import_sheet
from tests.support.sheets_server import SheetsServer

LEGACY = [
    [
        "Date",
        "Platform",
        "Link to conversation",
        "Who",
        "Existing customer?",
        "What changed",
        "Reactive/Proactive",
        "Notes",
    ],
    [
        "03/14/2025",
        "Twitter",
        "https://twitter.com/ana/status/1",
        "@ana",
        "Yes",
        "Stayed after the outage apology",
        "reactive",
        "",
    ],
    [
        "2025-04-02",
        "",
        "https://www.instagram.com/p/xyz/",
        "@zoe; Zoë",
        "prospect",
        "Booked a demo",
        "proactive",
        "great",
    ],
    [
        "someday",
        "Facebook",
        "https://facebook.com/posts/3",
        "Bob",
        "no",
        "Left a 5-star review",
        "",
        "",
    ],
    ["2025-05-01", "LinkedIn", "not a link", "Kim", "", "Shared our post", "", ""],
    ["", "", "", "", "", "", "", ""],
]


def test_import_maps_columns_reports_bad_rows_and_is_idempotent(
    engine: Engine,
    sheet_settings: Settings,
    sheets_server: SheetsServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sheets_server.sheet.rows = [list(r) for r in LEGACY]
    assert import_sheet(engine, sheet_settings, spreadsheet=None, worksheet=None) == 1
    out = capsys.readouterr().out
    assert "Imported 2 moments" in out
    assert "row 4: occurred_on" in out and "row 5: link" in out
    with Session(engine) as session:
        moments = {m.link: m for m in session.exec(select(Moment))}
    ana = moments["https://twitter.com/ana/status/1"]
    assert (ana.occurred_on, ana.network, ana.customer_status, ana.initiated_by) == (
        dt.date(2025, 3, 14),
        "twitter",
        "existing_customer",
        "customer",
    )
    zoe = moments["https://www.instagram.com/p/xyz/"]
    assert (
        zoe.network == "instagram"
        and zoe.people == '["@zoe", "Zoë"]'
        and zoe.initiated_by == "brand"
    )
    import_sheet(engine, sheet_settings, spreadsheet=None, worksheet=None)
    assert "Imported 0 moments, skipped 2" in capsys.readouterr().out
