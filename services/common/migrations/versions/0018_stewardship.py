"""The retention cut-off: raw events before it were deleted (`rapport retention apply`), so
every ingest process refuses events before it; one row, read by ingest once a minute.

Revision ID: 0018
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_retention",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("before_day", sa.Date(), nullable=False),
        sa.Column("before_at", sa.DateTime(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_retention")
