"""The conversions that name a person are indexed by that person first: (actor, occurred_at,
count, currency, value_e4), no longer (kind, actor, ...). The same rows (kind = 'conversion'
AND actor IS NOT NULL). PostgreSQL leaves out of an index's conditions a clause its partial
predicate already implies, so `kind` led an index it could not seek in: reading the
conversions of moments' people, it scanned the year's conversions by time and filtered the
people afterwards (35x from 10M to 100M events); by actor first it probes each person's window
of time (bench/RESULTS.md, session 12). SQLite seeks by either.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

WHERE = sa.text("kind = 'conversion' AND actor IS NOT NULL")
BEFORE = ["kind", "actor", "occurred_at", "count", "currency", "value_e4"]
AFTER = ["actor", "occurred_at", "count", "currency", "value_e4"]


def _index(columns: list[str]) -> None:
    op.drop_index("ix_event_converted", "interaction_event")
    op.create_index(
        "ix_event_converted",
        "interaction_event",
        columns,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def upgrade() -> None:
    _index(AFTER)


def downgrade() -> None:
    _index(BEFORE)
