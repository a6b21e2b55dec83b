"""The monthly report as a PDF an executive can forward, and by email: HTML with the PDF
attached, over SMTP with TLS (SMTP_SECURITY), retried on failure, sent once.

The PDF is Chromium's own print of the report (headless `--print-to-pdf`), so it is what a
browser shows. A delivery is recorded (report_delivery) the moment the SMTP server has accepted
it, before QUIT; the scheduled mailer (`rapport report mailer`, run by `rapport up` when
REPORT_RECIPIENTS is set) sends last month's report on the first day of the month unless that
row exists. One window stays open: a crash between the server's acceptance and that row's
commit (one local write), or an acceptance lost on its way back, sends the report again at the
next attempt. SMTP cannot close it: a server cannot be asked whether it holds a message, and
recording before sending would lose a report instead. The copy has the first's Message-ID.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import i18n
from services.common.clock import utcnow
from services.common.config import Settings
from services.common.db import write_session
from services.common.i18n import N_
from services.domain.tables import ReportDelivery
from services.reports.monthly import render
from services.reports.report_html import month_name

log = logging.getLogger(__name__)
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
)  # fmt: skip
ATTEMPTS = 4


class DeliveryError(RuntimeError):
    """The report could not be turned into a PDF or handed to the SMTP server."""


class RecipientsError(i18n.Problem, DeliveryError):
    """Addresses the report cannot be sent to: said in the page's language, English for the
    CLI."""


def chromium() -> str:
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        raise DeliveryError("Chromium is needed for the PDF: apt-get install chromium")
    return found


def pdf_of(html: str, timeout_s: float = 120.0) -> bytes:
    """Chromium's print of the HTML, no header or footer, on the paper its `@page` names (the
    report: Letter in English, A4 in the other languages). Chromium shapes Arabic and Persian
    (HarfBuzz) and embeds the fonts it used."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        out = Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        result = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        if not out.exists() or out.stat().st_size == 0:
            raise DeliveryError(f"Chromium wrote no PDF: {result.stderr.decode()[-500:]}")
        return out.read_bytes()


def recipients_of(text: str) -> list[str]:
    found = sorted({r.strip() for r in text.replace(";", ",").split(",") if r.strip()})
    bad = [r for r in found if "@" not in r or r.startswith("@") or r.endswith("@")]
    if bad:
        raise RecipientsError(
            N_("recipients: {addresses} is not an email address"), addresses=", ".join(bad)
        )
    if not found:
        raise RecipientsError(N_("recipients: name at least one address"))
    return found


def message_id(month: str, recipients: list[str], sender: str) -> str:
    """The same for every attempt at one delivery: mail clients show a resent copy once."""
    digest = hashlib.sha256(f"{month}|{','.join(recipients)}".encode()).hexdigest()[:16]
    domain = sender.rsplit("@", 1)[-1] or "rapport"
    return f"<rapport-report-{month}-{digest}@{domain}>"


def report_language(settings: Settings) -> str:
    """The e-mailed report's language: REPORT_LANGUAGE, else RAPPORT_LANGUAGE."""
    return settings.report_language or settings.rapport_language


def build_message(
    settings: Settings,
    *,
    month: str,
    recipients: list[str],
    html: str,
    pdf: bytes,
    language: str = "en",
) -> EmailMessage:
    year, number = (int(part) for part in month.split("-"))
    sp = i18n.speaker(language)
    title = f"Rapport · {month_name(dt.date(year, number, 1), sp)}"
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(month, recipients, settings.smtp_from)
    message.set_content(
        sp._(
            "{title}: the year to date in Rapport, with what social earned. The report is below "
            "(HTML) and attached as a PDF to forward.",
            title=title,
        )
    )
    message.add_alternative(html, subtype="html")
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"rapport-{month}.pdf"
    )
    return message


class NotSecure(DeliveryError):
    """The server cannot give the TLS that SMTP_SECURITY asks for: nothing was sent to it."""


def _connect(settings: Settings) -> smtplib.SMTP:
    """A connection secured as SMTP_SECURITY says, logged in when SMTP_USER is set. Nothing
    but EHLO and STARTTLS goes over a connection that is not yet encrypted, unless "none"."""
    assert settings.smtp_host
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_s
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            if not smtp.has_extn("starttls"):
                raise NotSecure(
                    f"the SMTP server {host}:{port} does not offer STARTTLS, so the report "
                    f"{'and the SMTP password ' if settings.smtp_user else ''}would go in "
                    "clear text; nothing was sent. Use a server that offers it, "
                    "SMTP_SECURITY=tls for implicit TLS (port 465), or SMTP_SECURITY=none only "
                    "for a relay on this host or a network you trust"
                )
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_once(settings: Settings, message: EmailMessage, accepted: Callable[[], None]) -> None:
    """One attempt; `accepted` runs as soon as the server has taken the message, before QUIT:
    a QUIT that fails afterwards (a 421, a dropped connection) must not make it a retry, which
    would deliver the message twice."""
    smtp = _connect(settings)
    try:
        smtp.send_message(message)
        accepted()
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def delivered(engine: Engine, month: str, recipients: list[str]) -> bool:
    with Session(engine) as session:
        return session.get(ReportDelivery, (month, ",".join(recipients))) is not None


def send_monthly(
    engine: Engine,
    settings: Settings,
    *,
    month: str,
    recipients: list[str],
    sleep: float = 2.0,
    language: str | None = None,
) -> str:
    """Send the month's report unless it was delivered to these recipients already; retried
    with backoff on connection and temporary SMTP failures. Returns what happened."""
    if not settings.smtp_host:
        raise DeliveryError("SMTP_HOST is not set: say which SMTP server sends the report")
    if delivered(engine, month, recipients):
        return f"already sent: the {month} report reached {', '.join(recipients)} before"
    language = language or report_language(settings)
    html = render(
        engine,
        month=month,
        tz=settings.timezone,
        group_id=settings.kafka_consumer_group,
        language=language,
    )
    message = build_message(
        settings, month=month, recipients=recipients, html=html, pdf=pdf_of(html), language=language
    )

    def record() -> None:
        with write_session(engine) as session:
            session.add(
                ReportDelivery(
                    month=month,
                    recipients=",".join(recipients),
                    message_id=str(message["Message-ID"]),
                    sent_at=utcnow(),
                )
            )
            session.commit()

    for attempt in range(1, ATTEMPTS + 1):
        try:
            _send_once(settings, message, record)
            break
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code < 500 and attempt < ATTEMPTS:
                log.warning("SMTP said %s (attempt %d); retrying", exc.smtp_code, attempt)
            else:
                raise DeliveryError(f"the SMTP server refused the report: {exc}") from exc
        except ssl.SSLCertVerificationError as exc:  # it will not verify on a retry either
            raise DeliveryError(
                f"TLS with the SMTP server {settings.smtp_host}:{settings.smtp_port} failed "
                f"({exc}); nothing was sent. Its certificate must be valid for SMTP_HOST and "
                "signed by a CA this machine trusts (SSL_CERT_FILE names a CA bundle to trust)"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"the SMTP server {settings.smtp_host}:{settings.smtp_port} offers no login "
                f"({exc}): unset SMTP_USER if it takes mail without one"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == ATTEMPTS:
                raise DeliveryError(f"could not reach the SMTP server: {exc}") from exc
            log.warning("SMTP failed (%s, attempt %d); retrying", exc, attempt)
        time.sleep(sleep * 2 ** (attempt - 1))
    return f"sent: the {month} report to {', '.join(recipients)}"


def last_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def run_mailer(
    engine: Engine,
    settings: Settings,
    stop: threading.Event,
    check_every_s: float = 300.0,
    today: Callable[[], dt.date] | None = None,
) -> None:
    """On the first day of each month (RAPPORT_TIMEZONE), send last month's report once."""
    recipients = recipients_of(settings.report_recipients or "")
    log.info("report mailer: last month's report goes to %s on the 1st", ", ".join(recipients))
    while not stop.is_set():
        today_ = today() if today else dt.datetime.now(settings.timezone).date()
        if today_.day == 1:
            try:
                log.info(
                    send_monthly(engine, settings, month=last_month(today_), recipients=recipients)
                )
            except DeliveryError as exc:
                log.error("report mailer: %s; trying again in %.0f s", exc, check_every_s)
        stop.wait(check_every_s)
