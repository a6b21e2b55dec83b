"""Stewardship fixtures: spare databases of the same kind, and the `rapport` CLI pointed at one."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.cli import main
from services.common.config import get_settings
from services.common.db import get_engine, is_sqlite
from services.domain.migrate import migrate
from tests.conftest import migrated_postgres


@pytest.fixture(autouse=True)
def _postgresql_tools(request: pytest.FixtureRequest) -> None:
    """PostgreSQL's backup cases need pg_dump and pg_restore (.ci/run installs them), said
    when not."""
    if not request.node.module.__name__.endswith(("test_backup", "test_backup_metrics")):
        return
    callspec = getattr(request.node, "callspec", None)
    on_postgresql = (
        callspec is not None and callspec.params.get("db_url") == "postgresql"
    ) or "postgresql_url" in request.fixturenames
    needed = "missing_pg_dump" not in request.node.name
    if on_postgresql and needed and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore missing: apt-get install postgresql-client (.ci/run does)")


@pytest.fixture
def spare_url(db_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """New, migrated databases of db_url's kind (dropped afterwards)."""
    with contextlib.ExitStack() as made:

        def make() -> str:
            if is_sqlite(db_url):
                url = f"sqlite:///{tmp_path / f'spare-{uuid.uuid4().hex[:8]}.db'}"
                migrate(url)
                return url
            return made.enter_context(migrated_postgres(f"rapport_spare_{uuid.uuid4().hex[:12]}"))

        yield make


@pytest.fixture
def rapport(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run `rapport ARGS` against DATABASE_URL=url: (exit status, stdout, stderr)."""
    monkeypatch.setenv("RAPPORT_TIMEZONE", "UTC")
    monkeypatch.setenv("RAPPORT_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("PG_DUMP", raising=False)
    monkeypatch.delenv("PG_RESTORE", raising=False)

    def run(url: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        get_engine.cache_clear()
        capsys.readouterr()
        try:
            status = main(list(args))
        finally:
            get_engine().dispose()
            get_engine.cache_clear()
        out = capsys.readouterr()
        return status, out.out, out.err

    yield run
    get_settings.cache_clear()
    get_engine.cache_clear()


def summaries(
    rapport: Callable[..., tuple[int, str, str]], url: str, *periods: tuple[int, str | None]
) -> list[object]:
    """`rapport summary --json` for each (year, as-of date) of the database at `url`."""
    found = []
    for year, as_of in periods:
        args = ["summary", "--year", str(year), "--json"]
        if as_of:
            args += ["--as-of", as_of]
        status, out, err = rapport(url, *args)
        assert status == 0, err
        found.append(json.loads(out))
    return found


# The Sheets fixtures of the moments tests: the real gspread client against the local server.
from tests.moments.conftest import moments_settings, sheet_settings, sheets_server  # noqa: E402, F401
