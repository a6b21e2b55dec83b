"""The monthly report as a PDF (Chromium's print, rendered back to PNG) and by email through a
real SMTP server (aiosmtpd): TLS as SMTP_SECURITY says (STARTTLS required, implicit TLS, clear
text only when asked), the MIME parts, retries, never twice, the mailer."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from services.cli import main
from services.common.config import Settings, get_settings
from services.ingest.sink import write_batch
from services.reports import delivery, value
from services.reports.monthly import render
from tests.factories import batch, event
from tests.support.smtp_server import SmtpServer

UTC = ZoneInfo("UTC")
needs_tools = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("pdftoppm")),
    reason="needs chromium and pdftoppm: apt-get install chromium poppler-utils (.ci/run does)",
)


def seed(engine: Engine) -> None:
    write_batch(
        engine,
        [batch(event(kind="impression", count=120_000, occurred_at="2026-03-10T10:00:00Z"))],
        UTC,
    )
    value.set_model(engine, year=2026, actor="t", currency="EUR", cpm=10, program_cost=50_000)


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # trust the throwaway certificate
        yield server


@pytest.fixture
def mail_env(cli_env: None, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("SMTP_FROM", "reports@rapport.example")


@needs_tools
def test_the_pdf_renders_back_to_a_page_with_the_money(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    pdf = delivery.pdf_of(render(engine, month="2026-03", tz=UTC, group_id="rapport"))
    assert pdf.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(tmp_path / "r.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
        timeout=60,
    )
    page = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    dark = sum(1 for pixel in page.getdata() if pixel < 128)  # type: ignore[attr-defined]
    assert dark > 2_000, "the first page is blank"
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "What social earned" in text and "€1,200" in text  # 120,000 impressions at CPM 10


@needs_tools
def test_email_with_html_and_pdf_over_starttls_once(
    engine: Engine, mail_env: None, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    args = ["report", "monthly", "--month", "2026-03", "--email", "cmo@b.example, ceo@a.example"]
    assert main(args) == 0
    assert "sent: the 2026-03 report to ceo@a.example, cmo@b.example" in capsys.readouterr().out
    [message] = smtp.inbox.messages
    assert smtp.inbox.tls_used == [True]  # STARTTLS was offered, so it was used
    assert sorted(smtp.inbox.envelopes[0]) == ["ceo@a.example", "cmo@b.example"]
    assert message["Subject"] == "Rapport · March 2026"
    assert message["From"] == "reports@rapport.example"
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "What social earned" in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "rapport-2026-03.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert main(args) == 0  # again: recorded, so never sent twice
    assert "already sent" in capsys.readouterr().out
    assert len(smtp.inbox.messages) == 1


@needs_tools
def test_a_temporary_failure_is_retried_and_sent_once(
    engine: Engine, mail_env: None, smtp: SmtpServer
) -> None:
    seed(engine)
    smtp.inbox.fail_next = 2
    result = delivery.send_monthly(
        engine, get_settings(), month="2026-03", recipients=["ceo@a.example"], sleep=0.01
    )
    assert result.startswith("sent")
    assert smtp.inbox.attempts == 3 and len(smtp.inbox.messages) == 1


@needs_tools
def test_the_mailer_sends_last_month_on_the_first_once(
    engine: Engine, db_url: str, smtp: SmtpServer
) -> None:
    seed(engine)
    settings = Settings(
        database_url=db_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        report_recipients="ceo@a.example",
        _env_file=None,  # type: ignore[call-arg]
    )
    stop = threading.Event()
    days = iter([dt.date(2026, 4, 1)] * 3)

    def today() -> dt.date:
        found = next(days, None)
        if found is None:
            stop.set()
            return dt.date(2026, 4, 2)
        return found

    delivery.run_mailer(engine, settings, stop, check_every_s=0.01, today=today)
    assert len(smtp.inbox.messages) == 1
    assert smtp.inbox.messages[0]["Subject"] == "Rapport · March 2026"


def test_bad_recipients_and_no_smtp_are_named(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "monthly", "--month", "2026-03", "--email", "nobody"]) == 2
    assert "recipients: nobody is not an email address" in capsys.readouterr().err
    assert main(["report", "monthly", "--month", "2026-03", "--email", "a@b.example"]) == 2
    assert "SMTP_HOST is not set" in capsys.readouterr().err


def mail_settings(db_url: str, smtp: SmtpServer, **overrides: object) -> Settings:
    return Settings(
        database_url=db_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_user="rapport",
        smtp_password="smtp-secret",
        _env_file=None,  # type: ignore[call-arg]
        **overrides,  # type: ignore[arg-type]
    )


@needs_tools
def test_a_server_without_starttls_never_sees_the_password(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """A relay, or a man in the middle that strips STARTTLS: refused before AUTH, not retried."""
    seed(engine)
    with SmtpServer(tmp_path, security="none") as plain:
        with pytest.raises(delivery.DeliveryError, match="SMTP_SECURITY") as refused:
            delivery.send_monthly(
                engine,
                mail_settings(db_url, plain),
                month="2026-03",
                recipients=["ceo@a.example"],
                sleep=0.01,
            )
        assert plain.inbox.logins == [] and plain.inbox.messages == []
    assert "does not offer STARTTLS" in str(refused.value)
    assert not delivery.delivered(engine, "2026-03", ["ceo@a.example"])


@needs_tools
@pytest.mark.parametrize(
    ("security", "over_tls"),
    [
        pytest.param("starttls", True, id="starttls"),
        pytest.param("tls", True, id="implicit-tls"),
        pytest.param("none", False, id="none-for-a-local-relay"),
    ],
)
def test_each_smtp_security_logs_in_and_delivers(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
    over_tls: bool,
) -> None:
    seed(engine)
    with SmtpServer(tmp_path, security=security) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # trust the throwaway certificate
        result = delivery.send_monthly(
            engine,
            mail_settings(db_url, server, smtp_security=security),
            month="2026-03",
            recipients=["ceo@a.example"],
        )
        assert result.startswith("sent")
        assert server.inbox.logins == [("rapport", over_tls)]
        assert server.inbox.tls_used == [over_tls]


@needs_tools
def test_a_certificate_nobody_trusts_is_refused_at_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    seed(engine)
    with SmtpServer(tmp_path) as server:  # its certificate is not in SSL_CERT_FILE
        with pytest.raises(delivery.DeliveryError, match="certificate") as refused:
            delivery.send_monthly(
                engine,
                mail_settings(db_url, server),
                month="2026-03",
                recipients=["ceo@a.example"],
                sleep=30,  # a retry would time the test out: it must not wait
            )
        assert server.inbox.logins == [] and server.inbox.attempts == 0
    assert "SSL_CERT_FILE" in str(refused.value)


@needs_tools
def test_a_failed_quit_after_the_server_accepted_sends_nothing_twice(
    engine: Engine, db_url: str, smtp: SmtpServer
) -> None:
    """The server accepted the message, then answered QUIT with a 421: it has the message, so
    it is recorded as sent and not sent again (before: retried, and delivered twice)."""
    seed(engine)
    smtp.inbox.quit_reply = "421 4.3.0 Shutting down"
    settings = mail_settings(db_url, smtp)
    first = delivery.send_monthly(
        engine, settings, month="2026-03", recipients=["ceo@a.example"], sleep=0.01
    )
    again = delivery.send_monthly(
        engine, settings, month="2026-03", recipients=["ceo@a.example"], sleep=0.01
    )
    assert first.startswith("sent") and again.startswith("already sent")
    assert len(smtp.inbox.messages) == 1
