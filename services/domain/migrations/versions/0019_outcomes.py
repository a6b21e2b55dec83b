"""Outcomes: leads and conversions carry an exact value and its currency, visits, leads and
conversions their campaign, and outcome events (follower snapshots, visits, leads, conversions)
get indexes of their own.

`value_e4` holds the value in ten-thousandths as a BIGINT, so sums are exact integers on SQLite
and PostgreSQL alike (no floating point, no NUMERIC that SQLite would store as REAL). The
indexes are partial (only outcome events enter them, so the many engagement events cost no more
to write) and covering: the outcome figures read them without touching the table, conversions
by the people of moments by an exact lookup (and the few actors an exact lookup could miss in an
index of their own). Visits, leads and conversions are also summed per local month, campaign and
currency (rollup_outcome_monthly), so a year's funnel reads a few hundred rows and only the
as-of month's events. bench/RESULTS.md, session 9.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OUTCOMES = sa.text("kind IN ('followers', 'visit', 'lead', 'conversion')")
CONVERTED = "kind = 'conversion' AND actor IS NOT NULL"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
UNUSUAL_SQLITE = f"{CONVERTED} AND (actor GLOB '*[^!-~]*' OR actor GLOB '*[{UPPER}]*')"
UNUSUAL_POSTGRESQL = f"{CONVERTED} AND actor ~ '[^!-~]|[{UPPER}]'"
CONVERTED_COLUMNS = ["kind", "actor", "occurred_at", "count", "currency", "value_e4"]


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
    op.create_table(
        "rollup_outcome_monthly",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("network", sa.String(16), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("campaign", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("value_e4", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    # Events stored before this revision are outcome-free (their kinds did not exist yet).
    op.create_index(
        "ix_event_converted",
        "interaction_event",
        CONVERTED_COLUMNS,
        sqlite_where=sa.text(CONVERTED),
        postgresql_where=sa.text(CONVERTED),
    )
    op.create_index(
        "ix_event_converted_unusual",
        "interaction_event",
        CONVERTED_COLUMNS,
        sqlite_where=sa.text(UNUSUAL_SQLITE),
        postgresql_where=sa.text(UNUSUAL_POSTGRESQL),
    )


def downgrade() -> None:
    op.drop_table("rollup_outcome_monthly")
    op.drop_index("ix_event_converted_unusual", "interaction_event")
    op.drop_index("ix_event_converted", "interaction_event")
    op.drop_index("ix_event_outcome", "interaction_event")
    with op.batch_alter_table("interaction_event") as table:
        table.drop_column("campaign")
        table.drop_column("currency")
        table.drop_column("value_e4")
