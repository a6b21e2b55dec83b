"""The schema's migrations (services/domain/migrations, Alembic): `rapport migrate`, `rapport up`
and every test database run `upgrade head` through here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from services.common.config import get_settings
from services.common.db import ensure_sqlite_dir, is_sqlite, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def all_tables() -> MetaData:
    """The metadata of every table (services/domain/tables/)."""
    import services.domain.tables  # noqa: F401

    return SQLModel.metadata


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest migration (`alembic upgrade head`)."""
    url = url or get_settings().database_url
    if is_sqlite(url):
        ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), "head")
