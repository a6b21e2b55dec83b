"""Data stewardship: the retention cut-off, and the receipts of erasures.

event_retention: raw events before the cut-off were deleted (`rapport retention apply`), so
every ingest process refuses events before it; one row, read by ingest once a minute.
person_erasure: one receipt per `rapport people forget` (the identifier's sha256, never itself).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
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
    op.create_table(
        "person_erasure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.Column("erased_by", sa.String(100), nullable=False),
        sa.Column("person_sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("person_erasure")
    op.drop_table("event_retention")
