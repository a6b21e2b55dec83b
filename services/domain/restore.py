"""`rapport restore`: a verified backup (backup.py) put back into DATABASE_URL, migrated to the
newest schema, and every table's rows checked against the backup's manifest."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text

from services.common.config import get_settings
from services.common.db import is_sqlite, make_engine
from services.domain.backup import (
    CHUNK,
    DUMPS,
    BackupError,
    Manifest,
    counts,
    libpq_env,
    sqlite_path,
    table_names,
    tool,
    verify,
)
from services.domain.migrate import migrate


def restore(url: str, path: Path, *, replace: bool, say: Callable[[str], None] = print) -> Manifest:
    """Restore a verified backup into the database at `url`, migrate it to head, and check
    every table's rows against the manifest."""
    manifest = verify(path)
    kind = "sqlite" if is_sqlite(url) else "postgresql"
    if manifest.database != kind:
        raise BackupError(
            f"{path} is a {manifest.database} backup and DATABASE_URL names a {kind} database: "
            f"restore it into a {manifest.database} database.",
            status=2,
        )
    held = _rows_held(url)
    if held and not replace:
        tables = ", ".join(f"{name} ({count:,})" for name, count in sorted(held.items())[:5])
        raise BackupError(
            f"the database at DATABASE_URL is not empty ({tables}); nothing was changed. Stop "
            "Rapport and run again with --replace to overwrite it with the backup.",
            status=2,
        )
    started = time.monotonic()
    say(f"Restoring the {kind} backup of {manifest.created_at} (schema {manifest.schema_revision})")
    with _extracted(path, DUMPS[kind]) as dump:
        if kind == "sqlite":
            _restore_sqlite(url, dump)
        else:
            _restore_postgresql(url, dump)
    say("Migrating to the newest schema ...")
    migrate(url)
    rows = _rows_of(url)
    wrong = [
        f"{name}: {rows.get(name, 0):,} rows, the manifest says {count:,}"
        for name, count in sorted(manifest.rows.items())
        if rows.get(name, 0) != count
    ]
    if wrong:
        raise BackupError("the restored database does not match the manifest: " + "; ".join(wrong))
    say(
        f"Restored in {time.monotonic() - started:.1f} s; every table holds the rows the "
        f"manifest lists ({sum(manifest.rows.values()):,} rows in {len(manifest.rows)} tables)."
    )
    return manifest


def _rows_held(url: str) -> dict[str, int]:
    """Rapport's tables that hold rows in the target (a missing or new database: none)."""
    if is_sqlite(url) and not Path(sqlite_path(url)).exists():
        return {}
    return {name: count for name, count in _rows_of(url).items() if count}


def _rows_of(url: str) -> dict[str, int]:
    """Rows per Rapport table in the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows, _revision = counts(conn)
    finally:
        engine.dispose()
    return rows


@contextmanager
def _extracted(path: Path, member_name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rapport-restore-") as work:
        target = Path(work) / member_name
        with tarfile.open(path, "r") as archive:
            member = archive.extractfile(member_name)
            assert member is not None  # verify() read it
            with target.open("wb") as f:
                shutil.copyfileobj(member, f, CHUNK)
        yield target


def _restore_sqlite(url: str, dump: Path) -> None:
    destination = Path(sqlite_path(url))
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    target = sqlite3.connect(destination, timeout=30)
    try:
        # Through the backup API into the live file: its WAL and any reader see it replaced
        # whole, in one transaction.
        source.backup(target)
    finally:
        target.close()
        source.close()


def _restore_postgresql(url: str, dump: Path) -> None:
    pg_restore = tool("pg_restore", get_settings().pg_restore)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            present = set(inspect(conn).get_table_names())
            for name in [*table_names(), "alembic_version"]:
                if name in present:
                    conn.execute(text(f'DROP TABLE "{name}" CASCADE'))
    finally:
        engine.dispose()
    done = subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            libpq_env(url)["PGDATABASE"],
            str(dump),
        ],
        env=libpq_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            f"pg_restore failed: {done.stderr.strip()}. Rapport's tables were dropped before it "
            "ran: fix the cause and restore again."
        )
