"""Real components for every test: SQLite and PostgreSQL databases, the Tansu Kafka broker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common import processes
from services.common.config import Settings
from services.common.db import make_engine
from services.common.kafka import ensure_topics
from services.domain.migrate import migrate

# PostgreSQL runs on this machine and in CI. RAPPORT_TEST_POSTGRES_URL points elsewhere;
# RAPPORT_TEST_SKIP_POSTGRES=1 skips those cases with a visible reason.
PG_ADMIN_URL = os.environ.get(
    "RAPPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SKIP_PG = os.environ.get("RAPPORT_TEST_SKIP_POSTGRES") == "1"
# Broker tests run on the bundled Tansu broker; RAPPORT_TEST_KAFKA_BOOTSTRAP (host:port) runs
# them against an external Apache Kafka instead (deploy/compose.infra.yaml's, say). The fault
# tests that kill a broker keep a bundled one of their own: nobody kills a shared Kafka.
EXTERNAL_KAFKA = os.environ.get("RAPPORT_TEST_KAFKA_BOOTSTRAP")
TABLES = (
    "interaction_event",
    "rollup_hourly",
    "rollup_daily",
    "rollup_outcome_monthly",
    "rollup_outcome_daily",
    "rollup_engagement_hourly",
    "support_conversation",
    "api_token",
    "moment",
    "moment_audit",
    "sheet_outbox",
    "survey_outbox",
    "app_user",
    "user_session",
    "goal",
    "login_failure",
    "support_schedule",
    "value_model",
    "report_delivery",
    "dead_letter",
    "consumer_progress",
    "event_retention",
    "person_erasure",
    "competitor",
)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rapport.db'}"
    migrate(url)
    return url


@contextlib.contextmanager
def migrated_postgres(name: str) -> Iterator[str]:
    """A PostgreSQL database `name` made anew and migrated to head; dropped afterwards."""
    admin_dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    if SKIP_PG:
        pytest.skip("RAPPORT_TEST_SKIP_POSTGRES=1: PostgreSQL cases skipped")
    with migrated_postgres(f"rapport_test_{os.getpid()}") as url:
        yield url


def emptied(url: str) -> str:
    """`url` with every Rapport table emptied (test_tables_list_every_table keeps TABLES whole).

    A worker's shared SQLite file has been seen answering "disk I/O error" late in a full
    two-worker run (after a `rapport moments` subprocess on it had stopped; not reproduced
    alone): that file is then made anew, migrated, rather than failing every later test of the
    worker. A warning says so; the cause is still open (see the session note)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    except OperationalError as exc:
        if not url.startswith("sqlite") or "disk I/O error" not in str(exc):
            raise
        warnings.warn(
            f"the shared SQLite test database was unreadable, made anew: {exc.orig}", stacklevel=2
        )
        engine.dispose()
        path = Path(url.removeprefix("sqlite:///"))
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        migrate(url)
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every database test runs twice: SQLite and PostgreSQL, each emptied first."""
    return emptied(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


class Broker:
    """A Tansu broker process; stop() and start() simulate an outage on the same port."""

    def __init__(self, log: Path) -> None:
        self.port = processes.free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = processes.spawn(processes.broker_command(self.port), log=self.log)
        processes.wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop(self.proc, timeout_s=10)
            self.proc = None


class ExternalBroker(Broker):
    """A Kafka the suite did not start and must not stop (RAPPORT_TEST_KAFKA_BOOTSTRAP)."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.proc = None

    @property
    def bootstrap(self) -> str:
        return self._bootstrap

    def start(self) -> None:
        host, _, port = self._bootstrap.rpartition(":")
        processes.wait_for_port(int(port), host=host or "127.0.0.1")

    def stop(self) -> None:
        pass


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b: Broker
    if EXTERNAL_KAFKA:
        b = ExternalBroker(EXTERNAL_KAFKA)
    else:
        b = Broker(tmp_path_factory.mktemp("broker") / "tansu.log")
    b.start()
    yield b
    b.stop()


def pipeline_settings(broker: Broker, database_url: str) -> Settings:
    """Settings with topics and a consumer group of their own on the shared broker."""
    suffix = uuid.uuid4().hex[:8]
    s = Settings(
        database_url=database_url,
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_topic=f"interactions-{suffix}",
        kafka_dlq_topic=f"dlq-{suffix}",
        kafka_consumer_group=f"group-{suffix}",
        ingest_grpc_port=0,
        rapport_admin_token="test-admin-token",
        consumer_batch_max_seconds=0.2,
        _env_file=None,  # type: ignore[call-arg]
    )
    ensure_topics(s.kafka)
    return s


@pytest.fixture
def settings(broker: Broker, db_url: str) -> Settings:
    return pipeline_settings(broker, db_url)
