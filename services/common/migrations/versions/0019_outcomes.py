"""Outcomes: leads and conversions carry an exact value and its currency, and outcome events
(follower snapshots, visits, leads, conversions) get an index of their own.

`value_e4` holds the value in ten-thousandths as a BIGINT, so sums are exact integers on SQLite
and PostgreSQL alike (no floating point, no NUMERIC that SQLite would store as REAL). The index
is partial: only outcome events enter it, so the many engagement events cost no more to write.

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


def upgrade() -> None:
    with op.batch_alter_table("interaction_event") as table:
        table.add_column(sa.Column("value_e4", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("currency", sa.String(3), nullable=True))
    op.create_index(
        "ix_event_outcome",
        "interaction_event",
        ["kind", "occurred_at"],
        sqlite_where=OUTCOMES,
        postgresql_where=OUTCOMES,
    )


def downgrade() -> None:
    op.drop_index("ix_event_outcome", "interaction_event")
    with op.batch_alter_table("interaction_event") as table:
        table.drop_column("currency")
        table.drop_column("value_e4")
