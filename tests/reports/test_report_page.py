"""The Monthly report page: the report previewed as it is sent, its HTML and PDF downloaded,
sent by e-mail through a real SMTP server (aiosmtpd) by managers, and only read by viewers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from services.common.config import get_settings
from tests.reports.test_app import app_env, downloads, run_page, seed  # noqa: F401 (fixtures)
from tests.reports.test_delivery import needs_tools, smtp  # noqa: F401 (fixtures)
from tests.support.smtp_server import SmtpServer

PAGE = "views/report.py"


def expected_month() -> str:
    """Last month when the current one is in progress (and not January), else this one."""
    today = dt.date.today()
    if today.month == 1:
        return f"{today:%Y-%m}"
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def send(at: AppTest, to: str) -> AppTest:
    next(t for t in at.text_input if t.label == "Recipients").set_value(to)
    next(b for b in at.button if b.label == "Send").click()
    return at.run()


@needs_tools
def test_a_manager_previews_downloads_and_sends_the_report_once(
    engine: Engine,
    app_env: None,  # noqa: F811
    smtp: SmtpServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("SMTP_FROM", "reports@rapport.example")
    get_settings.cache_clear()
    seed(engine, dt.date.today().year)
    at = run_page(PAGE)
    month = expected_month()
    assert f"{at.selectbox(key='report_month').value:%Y-%m}" == month
    files = downloads(at)
    report = files["Download HTML"].decode()
    assert report.startswith("<!doctype html>") and "Rapport · " in report
    assert len(at.get("iframe")) == 1  # the preview, in a frame of its own

    next(b for b in at.button if b.label == "Make the PDF").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert downloads(at)["Download PDF"].startswith(b"%PDF")

    send(at, "ceo@a.example")
    assert [s.value for s in at.success] == ["Sent to ceo@a.example."]
    [message] = smtp.inbox.messages
    assert message["Subject"].startswith("Rapport · ")
    send(at, "ceo@a.example")
    assert "This report reached these recipients before." in [i.value for i in at.info]
    assert len(smtp.inbox.messages) == 1
    send(at, "not an address")
    assert any("is not an email address" in e.value for e in at.error)


def test_viewers_read_and_download_but_do_not_send(
    engine: Engine,
    app_env: None,  # noqa: F811
) -> None:
    seed(engine, dt.date.today().year)
    viewer = run_page(PAGE, role="viewer")
    assert "Download HTML" in downloads(viewer)
    assert not [e for e in viewer.expander if e.label == "Send by e-mail"]
    manager = run_page(PAGE, role="manager")  # no SMTP_HOST here: told who sets it up
    assert any("SMTP_HOST" in i.value for i in manager.info)


def test_the_page_speaks_the_accounts_language(
    engine: Engine,
    app_env: None,  # noqa: F811
) -> None:
    from tests.reports.test_app import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "viewer", "language": "fa"}
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["گزارش ماهانه"]
    assert at.selectbox(key="report_month").label == "ماه"
    assert "دانلود HTML" in downloads(at)


@pytest.mark.parametrize("language", ["ar", "fi"])
def test_bad_recipients_are_refused_in_the_language(
    engine: Engine,
    app_env: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    """The addresses as typed, the reason in the reader's language (the CLI keeps English)."""
    from services.common.i18n import speaker
    from tests.reports.test_app import APP

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    get_settings.cache_clear()
    sp = speaker(language)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"name": "ana", "role": "manager", "language": language}
    at.run()
    at.switch_page(PAGE)
    at.run()
    next(t for t in at.text_input if t.label == sp._("Recipients")).set_value("boss, ana@x.fi")
    next(b for b in at.button if b.label == sp._("Send")).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [refused] = [e.value.replace("\\", "") for e in at.error]
    assert refused == sp._(
        "Not sent: {reason}",
        reason=sp._("recipients: {addresses} is not an email address", addresses="boss"),
    )
    assert "not an email" not in refused
