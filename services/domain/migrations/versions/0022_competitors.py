"""Competitors: (network, account) pairs whose events count only in `listening`, never in the
brand's own figures (docs/figures.md#response-quality-and-share-of-voice).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competitor",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("network", "account"),
    )


def downgrade() -> None:
    op.drop_table("competitor")
