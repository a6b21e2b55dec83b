"""Outcomes: leads and conversions carry an exact value and its currency, visits, leads and
conversions their campaign, and outcome events (follower snapshots, visits, leads, conversions)
get indexes of their own.

`value_e4` holds the value in ten-thousandths as a BIGINT, so sums are exact integers on SQLite
and PostgreSQL alike (no floating point, no NUMERIC that SQLite would store as REAL). The
indexes are partial (only outcome events enter them, so the many engagement events cost no more
to write) and covering: the outcome figures read a year of them without touching the table
(conversions by person: 196 -> see bench/RESULTS.md).

Revision ID: 0019
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

OUTCOMES = sa.text("kind IN ('followers', 'visit', 'lead', 'conversion')")
CONVERTED = sa.text("kind = 'conversion' AND actor IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("interaction_event") as table:
        table.add_column(sa.Column("value_e4", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("currency", sa.String(3), nullable=True))
        table.add_column(sa.Column("campaign", sa.String(200), nullable=True))
    op.create_index(
        "ix_event_outcome",
        "interaction_event",
        ["kind", "occurred_at", "network", "account", "campaign", "count", "currency", "value_e4"],
        sqlite_where=OUTCOMES,
        postgresql_where=OUTCOMES,
    )
    op.create_index(
        "ix_event_converted",
        "interaction_event",
        ["kind", "occurred_at", "actor", "count", "currency", "value_e4"],
        sqlite_where=CONVERTED,
        postgresql_where=CONVERTED,
    )


def downgrade() -> None:
    op.drop_index("ix_event_converted", "interaction_event")
    op.drop_index("ix_event_outcome", "interaction_event")
    with op.batch_alter_table("interaction_event") as table:
        table.drop_column("campaign")
        table.drop_column("currency")
        table.drop_column("value_e4")
