"""The outcome events' partial index says which kinds it holds as comparisons joined by OR, not
as an IN list: the same rows, but SQLite (3.40) built a temporary table for an IN list of more
than two values on every row inserted, to decide whether the row enters the index (2.2 us a row
of the consumer's insert, all of the 4.6 us the index's predicate and upkeep cost the 99 % of
events that never enter it). bench/RESULTS.md, session 10.

Revision ID: 0025
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = ["kind", "occurred_at", "network", "account", "campaign", "count", "currency", "value_e4"]
KINDS = ("followers", "visit", "lead", "conversion")
BEFORE = sa.text("kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")")
AFTER = sa.text("(" + " OR ".join(f"kind = '{kind}'" for kind in KINDS) + ")")


def _index(where: sa.TextClause) -> None:
    op.drop_index("ix_event_outcome", "interaction_event")
    op.create_index(
        "ix_event_outcome",
        "interaction_event",
        COLUMNS,
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    _index(AFTER)


def downgrade() -> None:
    _index(BEFORE)
