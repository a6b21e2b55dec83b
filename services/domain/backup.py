"""`rapport backup`: a consistent copy of the whole database taken while everything runs, one
file with its manifest (restore.py puts one back and proves it against that manifest)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Connection

from services.common.config import Settings, get_settings
from services.common.db import is_sqlite, make_engine, normalize_url
from services.domain.migrate import all_tables

MANIFEST = "manifest.json"
DUMPS = {"sqlite": "rapport.sqlite3", "postgresql": "rapport.pgdump"}
SUFFIX = ".backup.tar"
STATUS = "last-run.json"  # the outcome of the last `rapport backup` into this directory
CHUNK = 1 << 20

# Served by `rapport up` (BACKUP_METRICS_PORT), read from the backup directory at each scrape;
# the alert RapportBackupMissing reads the first.
METRICS = {
    "rapport_backup_newest_age_seconds": "Seconds since the newest backup in RAPPORT_BACKUP_DIR "
    "was taken (+Inf when there is none).",
    "rapport_backup_last_run_succeeded": "1 when the last `rapport backup` into "
    "RAPPORT_BACKUP_DIR succeeded, 0 when it failed.",
    "rapport_backup_last_run_timestamp_seconds": "When the last `rapport backup` into "
    "RAPPORT_BACKUP_DIR finished, successful or not.",
}


class BackupError(Exception):
    """What went wrong, said for the operator; `status` is the command's exit code."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: when it was taken, of what, and the hash that proves the dump."""

    created_at: str  # ISO 8601, UTC
    schema_revision: str | None
    database: str  # "sqlite" or "postgresql"
    rows: dict[str, int]
    sha256: str

    def as_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        missing = {"created_at", "schema_revision", "database", "rows", "sha256"} - set(data)
        if missing or data["database"] not in DUMPS:
            raise ValueError(f"manifest.json lacks {sorted(missing)} or names no known database")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)


def table_names() -> list[str]:
    return sorted(all_tables().tables)


# -- taking a backup


def take(url: str, out: Path, say: Callable[[str], None] = print) -> Manifest:
    """Write a backup of the database at `url` to `out`; the outcome goes to out's STATUS."""
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
            dump = Path(work) / "dump"
            if is_sqlite(url):
                say(f"Copying the SQLite database {sqlite_path(url)} (online backup API) ...")
                rows, revision = _sqlite_snapshot(url, dump)
                kind = "sqlite"
            else:
                pg_dump = tool("pg_dump", get_settings().pg_dump)
                say(f"Dumping PostgreSQL with {pg_dump} --format=custom ...")
                rows, revision = _postgresql_snapshot(url, dump, pg_dump)
                kind = "postgresql"
            created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            manifest = Manifest(created, revision, kind, rows, _sha256_file(dump))
            partial = Path(work) / "archive"
            with tarfile.open(partial, "w") as archive:  # manifest first: list reads only it
                _add_bytes(archive, MANIFEST, manifest.as_json())
                archive.add(dump, arcname=DUMPS[kind])
            with partial.open("rb") as f:
                os.fsync(f.fileno())
            partial.chmod(0o600)  # people's data: readable by this account only
            os.replace(partial, out)
    except BackupError as exc:
        _record_status(out.parent, succeeded=False, file=out.name, error=str(exc))
        raise
    except (OSError, sqlite3.Error, subprocess.SubprocessError) as exc:
        _record_status(out.parent, succeeded=False, file=out.name, error=str(exc))
        raise BackupError(f"the backup failed: {exc}") from exc
    _record_status(out.parent, succeeded=True, file=out.name, error=None)
    size = out.stat().st_size
    say(
        f"Wrote {out} ({size / 1e6:,.1f} MB) in {time.monotonic() - started:.1f} s: "
        f"{kind}, schema {revision}, {sum(rows.values()):,} rows in {len(rows)} tables "
        f"({rows.get('interaction_event', 0):,} events)"
    )
    return manifest


def sqlite_path(url: str) -> str:
    return normalize_url(url).split("///", 1)[-1]


def _sqlite_snapshot(url: str, dump: Path) -> tuple[dict[str, int], str | None]:
    if not Path(sqlite_path(url)).is_file():  # sqlite3 would create an empty one and copy that
        raise BackupError(
            f"there is no SQLite database at {sqlite_path(url)}: check DATABASE_URL.", status=2
        )
    source = sqlite3.connect(sqlite_path(url), timeout=30)
    target = sqlite3.connect(dump)
    try:
        # One step (pages=-1): every page is copied inside one read transaction, so the copy is
        # the database at one instant; in WAL mode writers go on meanwhile.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # a file of its own, without a -wal
        rows = {
            name: target.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in table_names()
            if _sqlite_has(target, name)
        }
        revision = _sqlite_revision(target)
    finally:
        target.close()
        source.close()
    return rows, revision


def _sqlite_has(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
    return found.fetchone() is not None


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    if not _sqlite_has(conn, "alembic_version"):
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def tool(name: str, configured: str | None) -> str:
    """pg_dump or pg_restore: the configured path, else the one on PATH; exit 2 without."""
    variable = name.upper()
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise BackupError(
            f"{name} not found at {configured} ({variable}): point {variable} at the PostgreSQL "
            f"client's {name}, or unset it to use the one on PATH.",
            status=2,
        )
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found on PATH: it is needed for PostgreSQL backups. Install the "
            "PostgreSQL client (Debian: apt-get install postgresql-client; the same major "
            f"version as the server or newer), or set {variable} to its path.",
            status=2,
        )
    return found


def libpq_env(url: str) -> dict[str, str]:
    """The connection as libpq's variables: the password never shows in a process list."""
    parsed = make_url(normalize_url(url))
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
        ("PGSSLMODE", parsed.query.get("sslmode")),
    ):
        if value:
            env[variable] = str(value)
    return env


def _postgresql_snapshot(url: str, dump: Path, pg_dump: str) -> tuple[dict[str, int], str | None]:
    engine = make_engine(url)
    try:
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
            conn.begin(),
        ):
            # pg_dump reads the snapshot this transaction exported, so the rows counted here are
            # exactly the rows in the dump, however many writes go on meanwhile.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            rows, revision = counts(conn)
            done = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--file", str(dump)],
                env=libpq_env(url),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    finally:
        engine.dispose()
    return rows, revision


def counts(conn: Connection) -> tuple[dict[str, int], str | None]:
    present = set(inspect(conn).get_table_names())
    rows = {
        name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
        for name in table_names()
        if name in present
    }
    revision = None
    if "alembic_version" in present:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return rows, revision


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return _sha256_stream(f)


def _sha256_stream(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _record_status(directory: Path, *, succeeded: bool, file: str, error: str | None) -> None:
    status = {
        "finished_at": time.time(),
        "succeeded": succeeded,
        "file": file,
        "error": error,
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / STATUS).write_text(json.dumps(status))
    except OSError:
        pass  # a full or read-only disk: the backup's own error says more


# -- reading a backup


def read_manifest(path: Path) -> Manifest:
    """The manifest of a backup file, or BackupError saying why it cannot be read."""
    try:
        with tarfile.open(path, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.parse(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is damaged or not a Rapport backup ({exc}).") from exc


def verify(path: Path) -> Manifest:
    """The manifest, once the dump's sha256 matched it; BackupError when it does not."""
    manifest = read_manifest(path)
    try:
        with tarfile.open(path, "r") as archive:
            member = archive.extractfile(DUMPS[manifest.database])
            if member is None:
                raise KeyError(DUMPS[manifest.database])
            found = _sha256_stream(member)
    except (OSError, tarfile.TarError, KeyError, EOFError) as exc:
        raise BackupError(f"{path} is damaged: its dump cannot be read ({exc}).") from exc
    if found != manifest.sha256:
        raise BackupError(
            f"{path} is damaged: the dump's sha256 is {found}, the manifest says "
            f"{manifest.sha256}. Do not restore from it: take a new backup or use an older one "
            "(rapport backup list)."
        )
    return manifest


def backups(directory: Path) -> list[tuple[Path, Manifest | None]]:
    """The backup files in a directory, oldest first, each with its manifest (None: unreadable)."""
    found: list[tuple[Path, Manifest | None]] = []
    for path in sorted(directory.glob(f"rapport-*{SUFFIX}")):
        try:
            found.append((path, read_manifest(path)))
        except BackupError:
            found.append((path, None))
    return found


def default_name(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"rapport-{now:%Y%m%dT%H%M%SZ}{SUFFIX}"


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` readable backups; the files deleted."""
    readable = [path for path, manifest in backups(directory) if manifest is not None]
    gone = readable[: max(0, len(readable) - keep)]
    for path in gone:
        path.unlink()
    return gone


# -- metrics, and the daily backup of `rapport up`


def newest(directory: Path) -> dt.datetime | None:
    """When the newest readable backup in the directory was taken."""
    return max((m.created for _p, m in backups(directory) if m is not None), default=None)


class BackupCollector(Collector):
    """The backups' state, read from the directory at each scrape (any process may write it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Every metric it may serve, so a registry knows the names without reading the disk."""
        for name, help_text in METRICS.items():
            yield GaugeMetricFamily(name, help_text)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        taken = newest(self.directory)
        age = (dt.datetime.now(dt.UTC) - taken).total_seconds() if taken else math.inf
        name = "rapport_backup_newest_age_seconds"
        yield GaugeMetricFamily(name, METRICS[name], value=age)
        status = last_status(self.directory)
        if status is not None:
            name = "rapport_backup_last_run_succeeded"
            yield GaugeMetricFamily(name, METRICS[name], value=1 if status["succeeded"] else 0)
            name = "rapport_backup_last_run_timestamp_seconds"
            yield GaugeMetricFamily(name, METRICS[name], value=status["finished_at"])


def last_status(directory: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((directory / STATUS).read_text()))
    except (OSError, ValueError):
        return None


def due(directory: Path, now: dt.datetime | None = None) -> bool:
    """No readable backup in the directory, or the newest is a day old."""
    taken = newest(directory)
    return taken is None or (now or dt.datetime.now(dt.UTC)) - taken >= dt.timedelta(days=1)


def daily_once(settings: Settings, run: Callable[[Path], int]) -> Path | None:
    """When one is due, `run` a backup into RAPPORT_BACKUP_DIR and keep the newest
    RAPPORT_BACKUP_KEEP; the file written, or None."""
    directory = Path(settings.rapport_backup_dir)
    if not due(directory):
        return None
    out = directory / default_name()
    if run(out) != 0:
        return None
    prune(directory, settings.rapport_backup_keep)
    return out


def daily(settings: Settings, stop: threading.Event, run: Callable[[Path], int]) -> None:
    """daily_once, once an hour, until `stop`."""
    while not stop.is_set():
        daily_once(settings, run)
        stop.wait(3600)
