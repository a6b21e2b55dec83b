"""Google Sheets sync: drains the outbox in batches, within quota, never writing a row twice.

Idempotence: before each batch the worker reads the sheet's id column; a moment already in the
sheet is updated in place, only missing ones are appended. A crash between the write and the
outbox commit therefore ends in an update on the next round, never in a second row.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import gspread
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.utils import InsertDataOption, ValueInputOption
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, delete, select

from services.common import tracing
from services.common.clock import utcnow
from services.common.config import Settings
from services.common.db import write_session
from services.common.i18n import N_, Speaker
from services.domain.tables import Moment, SheetOutbox
from services.moments import metrics

log = logging.getLogger(__name__)

GOOGLE_SHEETS_URL = "https://sheets.googleapis.com"
MAX_BACKOFF_S = 64.0
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
HEADER = [
    "Moment ID", "Date", "Network", "Link", "People", "Customer status", "What changed",
    "Outcome", "Who reached out first", "Notes", "Tags", "Logged by", "Logged at (UTC)",
    "Updated at (UTC)", "Status",
]  # fmt: skip
LAST_COLUMN = chr(ord("A") + len(HEADER) - 1)
WRITES_PER_MINUTE = 60
OFF_MESSAGE = (
    "Google Sheets sync is off: set GOOGLE_APPLICATION_CREDENTIALS and SHEETS_SPREADSHEET_ID"
)


def enabled(settings: Settings) -> bool:
    return bool(settings.google_application_credentials and settings.sheets_spreadsheet_id)


class RedirectingSession(AuthorizedSession):
    """Sends gspread's requests for sheets.googleapis.com to GOOGLE_SHEETS_API_URL instead."""

    def __init__(self, credentials: Any, base_url: str, timeout_s: float = 30.0) -> None:
        super().__init__(credentials)  # type: ignore[no-untyped-call]
        self._base = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if url.startswith(GOOGLE_SHEETS_URL):
            url = self._base + url[len(GOOGLE_SHEETS_URL) :]
        if kwargs.get("timeout") is None:  # gspread passes timeout=None: no limit at all
            kwargs["timeout"] = self._timeout_s
        return super().request(method, url, *args, **kwargs)  # type: ignore[no-any-return,no-untyped-call]


def _is_google(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "googleapis.com" or host.endswith(".googleapis.com")


def _no_access_boundary_lookup(credentials: Any) -> None:
    """After each token refresh google-auth looks up the service account's Regional Access
    Boundary at iamcredentials.googleapis.com (a Google-only feature; the result only adds an
    `x-allowed-locations` header). With GOOGLE_SHEETS_API_URL elsewhere (a local or proxy
    server) that lookup can only fail, retry in the background and fill the log, so give the
    credentials the "no boundary" value (0x0) with a far expiry: nothing to look up.
    `_set_regional_access_boundary` is the hook google-auth keeps stable for the gcloud CLI."""
    setter = getattr(credentials, "_set_regional_access_boundary", None)
    if setter is not None:
        far = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=36_500)
        setter({"encodedLocations": "0x0", "expiry": far})


def open_spreadsheet(settings: Settings, spreadsheet_id: str) -> gspread.Spreadsheet:
    """A spreadsheet through gspread, authenticated with the configured service account."""
    assert settings.google_application_credentials
    credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        settings.google_application_credentials, scopes=SCOPES
    )
    if not _is_google(settings.google_sheets_api_url):
        _no_access_boundary_lookup(credentials)
    session = RedirectingSession(
        credentials, settings.google_sheets_api_url, settings.sheets_timeout_s
    )
    return gspread.Client(auth=credentials, session=session).open_by_key(spreadsheet_id)


def open_worksheet(settings: Settings) -> gspread.Worksheet:
    """The first worksheet of the configured spreadsheet, with our header row in place."""
    assert settings.sheets_spreadsheet_id
    worksheet = open_spreadsheet(settings, settings.sheets_spreadsheet_id).sheet1
    if worksheet.row_values(1) != HEADER:
        worksheet.update([HEADER], "A1", value_input_option=ValueInputOption.raw)
    return worksheet


def sheet_row(moment: Moment) -> list[str]:
    """The row as the sheet shows it; written with RAW input, so text is never a formula."""
    people = Moment.decode_list(moment.people)
    tags = Moment.decode_list(moment.tags)
    return [
        moment.id,
        moment.occurred_on.isoformat(),
        moment.network,
        moment.link,
        ", ".join(people),
        moment.customer_status.replace("_", " "),
        moment.change,
        (moment.outcome or "").replace("_", " "),
        moment.initiated_by or "",
        moment.notes or "",
        ", ".join(tags),
        moment.logged_by,
        moment.created_at.strftime("%Y-%m-%d %H:%M"),
        moment.updated_at.strftime("%Y-%m-%d %H:%M"),
        "deleted" if moment.deleted_at else "active",
    ]


# Why a write failed, as the moments pages say it (last_error starts with the reason; the rest is
# Google's own English answer, for the log and `rapport sheets status`).
REASONS = {
    "quota": N_("Google's limit of writes a minute; retrying"),
    "server": N_("Google Sheets had an error of its own; retrying"),
    "auth": N_("Google refused the credentials; an admin checks the sheet's sharing"),
    "client": N_("Google Sheets refused the write; the server's log says why"),
    "timeout": N_("Google Sheets did not answer in time; retrying"),
    "connection": N_("Google Sheets could not be reached; retrying"),
}
UNKNOWN_REASON = N_("the server's log says why")


def reason_said(error: str | None, sp: Speaker) -> str:
    """A recorded failure (`reason: Google's answer`) as the reader's language says it."""
    code = (error or "").partition(":")[0]
    return sp._(REASONS.get(code, UNKNOWN_REASON))


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, gspread.exceptions.APIError):
        code = exc.response.status_code
        if code == 429:
            return "quota"
        if code >= 500:
            return "server"
        if code in (401, 403):
            return "auth"
        return "client"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    return "connection"


@dataclass
class BatchResult:
    appended: int = 0
    updated: int = 0
    requests: int = 0
    error: str | None = None


class WriteQuota:
    """Sliding one-minute window of write requests (Sheets: 60 per minute per user)."""

    def __init__(self, per_minute: int = WRITES_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._sent: deque[float] = deque()

    def acquire(self, stop: threading.Event | None = None) -> None:
        while True:
            horizon = time.monotonic() - 60
            while self._sent and self._sent[0] <= horizon:
                self._sent.popleft()
            if len(self._sent) < self.per_minute:
                self._sent.append(time.monotonic())
                return
            wait = self._sent[0] - horizon
            if stop is not None and stop.wait(wait):
                return
            if stop is None:
                time.sleep(wait)


class SheetSyncer:
    """Drains the sheet outbox; one instance per deployment (the moments service runs it)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        batch_size: int = 1_000,
        quota: WriteQuota | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self.batch_size = batch_size
        self.quota = quota or WriteQuota()
        self.stop_event = threading.Event()
        self._worksheet: gspread.Worksheet | None = None
        self.requests_used = 0

    def _sheet(self) -> gspread.Worksheet:
        if self._worksheet is None:
            self._worksheet = open_worksheet(self._settings)
            self.requests_used += 2
        return self._worksheet

    def sync_once(self) -> BatchResult:
        """Write one batch of due moments; on failure back off those rows and report why.

        Three short transactions, none open during the Sheets calls: read what is due, call
        Sheets, then record the outcome under the write guard with BEGIN IMMEDIATE (a read
        transaction turned writer would fail at once if a request wrote in between)."""
        now = utcnow()
        with Session(self._engine, expire_on_commit=False) as session:
            due = session.exec(
                select(SheetOutbox)
                .where(SheetOutbox.next_attempt_at <= now)
                .order_by(col(SheetOutbox.enqueued_at))
                .limit(self.batch_size)
            ).all()
            if not due:
                self._gauges(session)
                return BatchResult()
            versions = {row.moment_id: row.version for row in due}
            moments = session.exec(select(Moment).where(col(Moment.id).in_(list(versions)))).all()
            session.expunge_all()  # plain objects from here on; the read transaction ends
        try:
            with tracing.span(
                "sheets write",
                kind=tracing.Kind.CLIENT,
                links=_request_links(due),
                attributes={"rapport.moments": len(moments)},
            ):
                result = self._write(list(moments))
        except Exception as exc:  # every failure is retried later; the reason is recorded
            reason = failure_reason(exc)
            metrics.SHEET_FAILURES.labels(reason).inc()
            message = f"{reason}: {str(exc)[:300]}"
            log.warning("sheet sync failed (%s), backing off %d moments", message, len(due))
            if reason in ("auth", "connection"):
                self._worksheet = None  # reconnect (and re-read the credentials) next time
            with write_session(self._engine) as session:
                for row in due:
                    row.attempts += 1
                    delay = retry_delay_s(row.attempts)
                    row.next_attempt_at = now + dt.timedelta(seconds=delay)
                    row.last_error = message
                    # Only rows still at the version read: an edit meanwhile re-queued its row.
                    session.exec(
                        update(SheetOutbox)
                        .where(
                            col(SheetOutbox.moment_id) == row.moment_id,
                            col(SheetOutbox.version) == row.version,
                        )
                        .values(
                            attempts=row.attempts,
                            next_attempt_at=row.next_attempt_at,
                            last_error=message,
                        )
                    )
                session.commit()
                self._gauges(session)
            return BatchResult(error=message)
        with write_session(self._engine) as session:
            # Only rows whose moment did not change meanwhile leave the outbox.
            for moment_id, version in versions.items():
                session.exec(
                    delete(SheetOutbox).where(
                        col(SheetOutbox.moment_id) == moment_id, col(SheetOutbox.version) == version
                    )
                )
            session.commit()
            metrics.SHEET_LAST_SUCCESS.set(time.time())
            self._gauges(session)
        return result

    def _write(self, moments: list[Moment]) -> BatchResult:
        worksheet = self._sheet()
        result = BatchResult()
        ids = worksheet.col_values(1)
        result.requests += 1
        row_of = {moment_id: number for number, moment_id in enumerate(ids, start=1) if number > 1}
        appends: list[list[str]] = []
        updates: list[dict[str, Any]] = []
        for moment in moments:
            values = sheet_row(moment)
            number = row_of.get(moment.id)
            if number is None:
                appends.append(values)
            else:
                updates.append({"range": f"A{number}:{LAST_COLUMN}{number}", "values": [values]})
        if appends:
            self.quota.acquire(self.stop_event)
            worksheet.append_rows(
                appends,
                value_input_option=ValueInputOption.raw,
                insert_data_option=InsertDataOption.insert_rows,
                table_range="A1",
            )
            result.requests += 1
            result.appended = len(appends)
            metrics.SHEET_ROWS.labels("append").inc(len(appends))
        if updates:
            self.quota.acquire(self.stop_event)
            worksheet.batch_update(updates, value_input_option=ValueInputOption.raw)
            result.requests += 1
            result.updated = len(updates)
            metrics.SHEET_ROWS.labels("update").inc(len(updates))
        self.requests_used += result.requests
        return result

    def _gauges(self, session: Session) -> None:
        backlog, oldest = status(session)
        metrics.SHEET_BACKLOG.set(backlog)
        metrics.SHEET_OLDEST.set(oldest)

    def run(self, idle_s: float = 2.0) -> None:
        """Keep draining until stopped; sleep when nothing is due. A database error is logged
        and retried: the worker thread never dies quietly."""
        while not self.stop_event.is_set():
            try:
                result = self.sync_once()
            except SQLAlchemyError as exc:
                log.error("sheet sync could not read or record its outbox: %s", exc)
                result = BatchResult(error=str(exc))
            if not (result.appended or result.updated):
                self.stop_event.wait(idle_s)


def _request_links(due: Sequence[SheetOutbox]) -> list[Any]:
    """When tracing: links to the requests that saved these moments (their outbox rows keep
    the traceparent), so a moment's trace leads from its request to this write."""
    return tracing.links({"traceparent": row.traceparent} for row in due if row.traceparent)


def retry_delay_s(attempts: int) -> float:
    """Truncated exponential backoff with jitter, capped at MAX_BACKOFF_S (Google's guidance
    for the Sheets API: 32-64 s), so a moment logged during a short outage follows it closely."""
    return min(2.0 ** min(attempts, 16), MAX_BACKOFF_S) * random.uniform(0.5, 1.0)


def status(session: Session) -> tuple[int, float]:
    """(moments waiting, age in seconds of the oldest waiting), counted by the database."""
    waiting, oldest = session.exec(
        select(func.count(), func.min(SheetOutbox.enqueued_at)).select_from(SheetOutbox)
    ).one()
    if not waiting or oldest is None:
        return 0, 0.0
    now = utcnow()
    return int(waiting), (now - oldest).total_seconds()


def start_background(engine: Engine, settings: Settings) -> SheetSyncer | None:
    if not enabled(settings):
        return None
    syncer = SheetSyncer(engine, settings)
    threading.Thread(target=syncer.run, name="sheet-sync", daemon=True).start()
    return syncer
