"""Every migration upgrades and downgrades cleanly on both databases, with data in the tables."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import text

from services.common.db import alembic_config, make_engine, migrate
from services.ingest.sink import write_batch
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")


def test_down_to_nothing_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        write_batch(
            engine,
            [batch(event(event_id="a"), message("message_received", "c1", "2026-03-02T10:00:00Z"))],
            UTC,
        )
        config = alembic_config(db_url)
        command.downgrade(config, "base")
        with engine.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if engine.dialect.name == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ).scalars()
            assert set(tables) <= {"alembic_version"}
        migrate(db_url)
        write_batch(engine, [batch(event(event_id="a"))], UTC)  # the schema works again
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM interaction_event")).scalar() == 1
    finally:
        engine.dispose()
