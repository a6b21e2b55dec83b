"""`rapport up`: migrate, start the embedded broker and every service, stop them all in order."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from kafka.errors import KafkaError
from sqlalchemy import func
from sqlmodel import Session, select

from services.common import processes
from services.common.config import Settings, get_settings
from services.common.db import get_engine, write_session
from services.common.kafka import ensure_topics, group_lag
from services.domain.auth import Role, create_token
from services.domain.migrate import migrate
from services.domain.tables import ApiToken, InteractionEvent
from services.ingest.backlog import admin_client, look
from services.ingest.journal import trim_directory

log = logging.getLogger("rapport.up")
LOG_DIR = Path("var/log")
JOURNAL_DIR = Path("var/journal")
EMBEDDED_SESSION_TIMEOUT_MS = 2_000


# Every port `rapport up` binds, by variable: set them all to run a second stack beside one.
PORT_VARIABLES = (
    "EMBEDDED_BROKER_PORT",
    "INGEST_HTTP_PORT",
    "INGEST_GRPC_PORT",
    "MOMENTS_HTTP_PORT",
    "MOMENTS_GRPC_PORT",
    "REPORTS_PORT",
    "CONSUMER_METRICS_PORT",
    "REPORTS_METRICS_PORT",
    "BACKUP_METRICS_PORT",
    "SURVEY_RELAY_METRICS_PORT",
)
RESTARTS = 5  # a child that dies this often within RESTART_WINDOW_S is given up on
RESTART_WINDOW_S = 600.0
READY_TIMEOUT_S = 60.0
# Stopped first, in this order: what accepts, then the survey relay once the page accepts no
# more (what it has not sent waits in the outbox for the next start).
FRONT = ("ingest", "moments", "reports", "survey-relay")


@dataclass
class Child:
    """A process of the stack, how to start it again, and when it last died."""

    name: str
    args: list[str]
    proc: subprocess.Popen[bytes]
    exits: list[float] = field(default_factory=list)  # monotonic times, within the window
    restart_at: float | None = None


def first_run_token() -> str | None:
    """On a fresh database, one manager token so the user can post events right away."""
    with write_session(get_engine()) as session:  # reads, then writes: the write lock first
        if session.exec(select(func.count()).select_from(ApiToken)).one() > 0:
            return None
        return create_token(session, name="first-run", role=Role.manager)


def first_admin() -> tuple[str, str] | None:
    """On a fresh database, an admin with a one-time password for the web pages."""
    from services.domain import accounts
    from services.domain.tables import User

    with write_session(get_engine()) as session:
        if session.exec(select(User).limit(1)).first() is not None:
            return None
        password = accounts.generate_password()
        accounts.create(
            session, username="admin", password=password, role=Role.admin, one_time=True
        )
        return "admin", password


def database_is_empty() -> bool:
    with Session(get_engine()) as session:
        return session.exec(select(InteractionEvent.event_id).limit(1)).first() is None


class Stack:
    """The running children: restarted when one dies (with backoff), stopped in the order that
    loses nothing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self.stopping = threading.Event()
        self.prompting = False  # at the demo question: Ctrl-C must end input() too
        self.embedded = settings.kafka_bootstrap_servers is None
        self.env: dict[str, str] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.env = env
        self.children.append(Child(name, args, self._spawn(name, args)))

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if name == "broker":  # a new broker: a new cluster id (the journal tells them apart)
            args = processes.broker_command(self.settings.embedded_broker_port)
        return processes.spawn(args, env=self.env, log=LOG_DIR / f"{name}.log")

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    def watch(self) -> str | None:
        """Restart what died, after RAPPORT_RESTART_DELAY_S (1 s), then twice as long at each
        death; the reason to give up, when there is one."""
        now = time.monotonic()
        for c in self.children:
            if c.restart_at is None and c.proc.poll() is not None:
                c.exits = [t for t in c.exits if now - t < RESTART_WINDOW_S] + [now]
                why = _exit_reason(c.proc.returncode)
                if len(c.exits) >= RESTARTS:
                    return (
                        f"{c.name} {why} {len(c.exits)} times within "
                        f"{RESTART_WINDOW_S / 60:.0f} minutes; not restarting it again. "
                        f"See var/log/{c.name}.log" + (_last_lines(LOG_DIR / f"{c.name}.log") or "")
                    )
                delay = self.settings.rapport_restart_delay_s * 2.0 ** (len(c.exits) - 1)
                c.restart_at = now + delay
                message = f"{c.name} {why}; restarting it in {delay:g} s (see var/log/{c.name}.log)"
                print(message + (_last_lines(LOG_DIR / f"{c.name}.log") or ""), flush=True)
            elif c.restart_at is not None and now >= c.restart_at:
                c.restart_at = None
                c.proc = self._spawn(c.name, c.args)
                if c.name == "broker":
                    try:
                        processes.wait_for_port(self.settings.embedded_broker_port)
                        ensure_topics(self.settings.kafka)
                    except (TimeoutError, KafkaError) as exc:
                        print(f"broker did not come back: {exc}", flush=True)
                        continue
                    print(
                        "broker restarted (empty, memory only): ingest publishes its journal "
                        "again, so nothing acknowledged is lost",
                        flush=True,
                    )
                else:
                    print(f"{c.name} restarted", flush=True)
        return None

    def shutdown(self) -> None:
        """Ingest stops accepting; the consumer drains what the broker holds; then the broker."""
        print("\nStopping: ingest first, then the consumer once it has drained, then the broker.")
        for name in FRONT:
            if (c := self.child(name)) is not None:
                processes.stop(c.proc)
        consumer = self.child("consumer")
        if consumer is not None and consumer.proc.poll() is None and self.embedded:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lag = group_lag(self.settings.kafka)
                if lag == 0 or lag is None:
                    break
                print(f"  waiting for the consumer to drain {lag} records ...")
                time.sleep(1)
            self._trim_journal()
        for c in reversed(self.children):
            if c.name not in FRONT:
                processes.stop(c.proc)
        print("All stopped.")

    def _trim_journal(self) -> None:
        """What the consumer committed need not be published again at the next start."""
        directory = self.env.get("INGEST_JOURNAL_DIR")
        if not directory or not Path(directory).is_dir():
            return
        try:
            admin = admin_client(self.settings.kafka)
            try:
                view = look(admin, self.settings.kafka_consumer_group)
            finally:
                admin.close()
        except KafkaError:
            return
        _segments, records = trim_directory(Path(directory), view.cluster_id, view.committed)
        if records:
            print(f"  the journal keeps {records} records not yet in the database for next time")


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _last_lines(path: Path, count: int = 5) -> str | None:
    """The end of a child's log, to say at once why it died."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()[-count:]
    except OSError:
        return None
    return "".join(f"\n    | {line[:200]}" for line in lines) if lines else None


def wait_for_consumer(
    settings: Settings, stack: Stack, timeout_s: float = READY_TIMEOUT_S
) -> float:
    """Until the consumer holds its partitions (its own gauge says so); the seconds it took."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{settings.consumer_metrics_port}/metrics"
    while time.monotonic() - started < timeout_s:
        if stack.stopping.is_set():
            break
        consumer = stack.child("consumer")
        if consumer is not None and consumer.proc.poll() is not None:
            break  # the supervisor says why
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                text = response.read().decode()
        except OSError:
            text = ""
        for line in text.splitlines():
            if line.startswith("rapport_consumer_assigned_partitions ") and float(line.split()[1]):
                return time.monotonic() - started
        time.sleep(0.05)
    return time.monotonic() - started


def up(*, demo: bool | None = None) -> int:
    started = time.monotonic()
    settings = get_settings()
    print(f"Database: {settings.database_url} (migrating to the newest schema)")
    migrate(settings.database_url)
    env = dict(os.environ)
    stack = Stack(settings)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stack.stopping.set()
        if stack.prompting:  # input() would go on waiting for Enter after the handler
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if stack.embedded:
            port = settings.embedded_broker_port
            if processes.port_in_use(port):
                print(
                    f"Port {port} is taken: is another Rapport running? "
                    "Set KAFKA_BOOTSTRAP_SERVERS to use an existing broker."
                )
                return 1
            print(f"Kafka: starting the embedded broker (Tansu, memory only) on 127.0.0.1:{port}")
            stack.start("broker", processes.broker_command(port), env)
            processes.wait_for_port(port)
            env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
            # The broker keeps records only in memory: ingest journals what it acknowledges.
            env.setdefault("INGEST_JOURNAL_DIR", str(JOURNAL_DIR))
            # The broker lets a group's first member wait half its session timeout before the
            # group forms: a short one gets the consumer its partitions in about a second.
            env.setdefault("CONSUMER_SESSION_TIMEOUT_MS", str(EMBEDDED_SESSION_TIMEOUT_MS))
        else:
            print(f"Kafka: {settings.kafka_bootstrap_servers}")
        ensure_topics(settings.kafka)
        stack.start("consumer", processes.rapport_command("consumer"), env)
        stack.start("ingest", processes.rapport_command("ingest"), env)
        # The survey answers go to Kafka from a process of their own, not the page's.
        env["SURVEYS_RELAY_IN_SERVICE"] = "false"
        stack.start("moments", processes.rapport_command("moments"), env)
        stack.start("survey-relay", processes.rapport_command("surveys", "relay"), env)
        stack.start("reports", processes.rapport_command("reports"), env)
        if settings.meta_page_token and (settings.meta_page_id or settings.meta_instagram_id):
            stack.start("graph-poller", processes.rapport_command("connect", "meta"), env)
        if settings.report_recipients:  # last month's report by email on the 1st
            stack.start("report-mailer", processes.rapport_command("report", "mailer"), env)
        processes.wait_for_port(settings.ingest_http_port)
        processes.wait_for_port(settings.moments_http_port)
        wait_for_consumer(settings, stack)
        processes.wait_for_port(settings.reports_port, timeout_s=60)  # every printed URL answers
        token = first_run_token()
        admin = first_admin()
        _serve_backup_metrics(settings)
        _print_urls(settings, token, admin, time.monotonic() - started)
        if database_is_empty():
            _offer_demo(stack, demo)
        _start_daily_backups(stack)
        if settings.rapport_event_retention_days:
            _start_nightly_retention(stack)
        return _supervise(stack)
    finally:
        stack.shutdown()


def _print_urls(
    settings: Settings, token: str | None, admin: tuple[str, str] | None, took_s: float
) -> None:
    ingest = f"http://127.0.0.1:{settings.ingest_http_port}"
    print(
        f"\nRapport is ready in {took_s:.1f} s: the consumer holds its partitions, so events "
        "posted now go straight through\n(logs in var/log/, Ctrl-C stops everything):\n"
        f"  ingest REST    {ingest}/v1/interactions   (API docs: {ingest}/docs)\n"
        f"  ingest gRPC    127.0.0.1:{settings.ingest_grpc_port}   (IngestService, reflection on)\n"
        f"  moments        http://127.0.0.1:{settings.moments_http_port}/   (API docs: /docs)\n"
        f"  moments gRPC   127.0.0.1:{settings.moments_grpc_port}   (MomentsService)\n"
        f"  reports        http://127.0.0.1:{settings.reports_port}/   (Streamlit)\n"
        f"  figures        .venv/bin/rapport summary --year {time.gmtime().tm_year}\n"
        "Metrics (Prometheus), one endpoint per process:\n"
        f"  ingest         {ingest}/metrics\n"
        f"  moments        http://127.0.0.1:{settings.moments_http_port}/metrics\n"
        f"  consumer       http://127.0.0.1:{settings.consumer_metrics_port}/metrics\n"
        f"  reports        http://127.0.0.1:{settings.reports_metrics_port}/metrics\n"
        f"  backups        http://127.0.0.1:{settings.backup_metrics_port}/metrics\n"
        f"  surveys        http://127.0.0.1:{settings.survey_relay_metrics_port}/metrics"
    )
    if admin:
        print(
            "\nFirst run: log in to the moments pages as "
            f"{admin[0]!r} with the one-time password {admin[1]!r} (shown only now);\n"
            "the first login asks you to choose your own password, and this one stops working."
        )
    if token:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        sample = f'[{{"event_id":"hello-1","occurred_at":"{now}","network":"x","kind":"like"}}]'
        print(
            "\nFirst run: an API token for posting events (shown only now, keep it):\n"
            f"  {token}\n"
            f"  curl -H 'Authorization: Bearer {token}' \\\n"
            f"       -H 'Content-Type: application/json' -d '{sample}' \\\n"
            f"       {ingest}/v1/interactions"
        )


def _offer_demo(stack: Stack, demo: bool | None) -> None:
    settings = stack.settings
    if demo is None and sys.stdin.isatty():
        stack.prompting = True
        try:
            answer = input(
                "\nThe database is empty. Stream a demo year of interactions now? [y/N] "
            )
        except EOFError:  # the terminal closed its input (Ctrl-D): no demo, keep running
            answer = ""
        except KeyboardInterrupt:  # Ctrl-C at the question: stop, as anywhere else
            print()
            return
        finally:
            stack.prompting = False
        demo = answer.strip().lower() in ("y", "yes")
    if demo:
        from services.demo import run_demo

        run_demo(settings, url=f"http://127.0.0.1:{settings.ingest_http_port}")
    else:
        print(
            "\nThe database is empty: `.venv/bin/rapport demo` streams a demo year through ingest."
        )


def _serve_backup_metrics(settings: Settings) -> None:
    """The backups' age and last outcome, on BACKUP_METRICS_PORT (the up process's own)."""
    from prometheus_client import REGISTRY

    from services.common.metrics import serve_metrics
    from services.domain.backup import BackupCollector

    REGISTRY.register(BackupCollector(Path(settings.rapport_backup_dir)))
    serve_metrics(settings.backup_metrics_port, host=settings.metrics_host)


def _start_daily_backups(stack: Stack) -> None:
    """A backup a day into RAPPORT_BACKUP_DIR, each by `rapport backup` of its own (its log in
    var/log/backup.log), keeping the newest RAPPORT_BACKUP_KEEP."""
    from services.domain import backup

    settings = stack.settings

    def run(out: Path) -> int:
        proc = processes.spawn(
            processes.rapport_command("backup", "--out", str(out)),
            env=stack.env,
            log=LOG_DIR / "backup.log",
        )
        code = proc.wait()
        if code == 0:
            print(f"Daily backup written: {out}", flush=True)
        elif not stack.stopping.is_set():
            print(
                f"The daily backup failed (exit {code}); see var/log/backup.log"
                + (_last_lines(LOG_DIR / "backup.log") or ""),
                flush=True,
            )
        return code

    threading.Thread(target=backup.daily, args=(settings, stack.stopping, run), daemon=True).start()


def _start_nightly_retention(stack: Stack) -> None:
    """Once a day, raw events older than RAPPORT_EVENT_RETENTION_DAYS leave, each time by a
    `rapport retention apply` of its own (its log in var/log/retention.log)."""
    from services.ingest import retention

    def run(before: dt.date) -> int:
        log_file = LOG_DIR / "retention.log"
        command = processes.rapport_command("retention", "apply", "--before", str(before))
        code = processes.spawn(command, env=stack.env, log=log_file).wait()
        if code != 0 and not stack.stopping.is_set():
            print(
                f"Retention before {before} failed (exit {code}); see var/log/retention.log"
                + (_last_lines(log_file) or ""),
                flush=True,
            )
        return code

    threading.Thread(
        target=retention.nightly, args=(stack.settings, stack.stopping, run), daemon=True
    ).start()


def _supervise(stack: Stack) -> int:
    while not stack.stopping.wait(0.5):
        if (reason := stack.watch()) is not None:
            print(reason, flush=True)
            return 1
    return 0
