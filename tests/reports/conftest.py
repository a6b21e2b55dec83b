"""Reports fixtures: the real `rapport` CLI on a real database, in UTC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.common.config import get_settings
from services.common.db import get_engine


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`services.cli.main` reads this database, in UTC, with no SMTP server unless a test sets
    one (set more variables before the first command: settings are read once)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RAPPORT_TIMEZONE", "UTC")
    monkeypatch.delenv("SMTP_HOST", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
