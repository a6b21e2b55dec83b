"""Database engine and sessions (SQLite by default, PostgreSQL via DATABASE_URL); the schema and
its migrations are the shared domain's (services/domain/tables/, services/domain/migrate.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from services.common.config import get_settings


def normalize_url(url: str) -> str:
    """Accept the usual postgres spellings and route them to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, pre-ping and no JIT on
    PostgreSQL."""
    url = normalize_url(url)
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is bypassed so that writers can ask for BEGIN
        # IMMEDIATE (execution option "immediate"): read-modify-write batches from several
        # consumers then serialise instead of failing on a lock upgrade.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # JIT off: PostgreSQL compiles a plan whose estimate passes jit_above_cost, and on 100M
    # events the estimates of short reads (a page of conversations, the conversions of moments'
    # people) pass it: 0.3-3.4 s of compiling for plans that run in 20-100 ms (bench/RESULTS.md,
    # session 11).
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"options": "-c jit=off"},
    )


def ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener own transactions
    cur = dbapi_conn.cursor()
    # Set once per database file (it persists); asking again writes, which fails on a full disk
    # and would stop even readers from connecting.
    if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_WRITE_LOCKS: dict[int, threading.RLock] = {}


def write_guard(engine: Engine) -> AbstractContextManager[object]:
    """Serialise this process's write transactions on SQLite.

    SQLite allows one writer; without this, request threads meet SQLITE_BUSY and its busy
    handler sleeps in growing steps (up to 100 ms), which made p99 latency explode under 50
    concurrent clients. A lock hands the database over at once. PostgreSQL needs nothing."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    # Keyed by the pool, which an engine and its execution_options() copies share; reentrant,
    # so a request holding it may call service functions that take it again.
    return _WRITE_LOCKS.setdefault(id(engine.pool), threading.RLock())


@contextmanager
def write_session(engine: Engine, *, expire_on_commit: bool = True) -> Iterator[Session]:
    """A session for work that reads and then writes: this process's write guard first, then
    (SQLite) BEGIN IMMEDIATE. A transaction that read first and writes later would otherwise
    fail on the lock upgrade at once ("database is locked", whatever the busy timeout) when
    another writer went in between."""
    with (
        write_guard(engine),
        Session(
            engine.execution_options(immediate=True), expire_on_commit=expire_on_commit
        ) as session,
    ):
        yield session


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)
