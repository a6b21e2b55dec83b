"""What the reports' completeness line reads: the dead letters, stored once per topic offset,
and how far the consumer's writes reach in each partition.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("kafka_partition", sa.Integer(), primary_key=True),
        sa.Column("kafka_offset", sa.BigInteger(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("rejected_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dead_letter_rejected_at", "dead_letter", ["rejected_at"])
    op.create_table(
        "consumer_progress",
        sa.Column("group_id", sa.String(200), primary_key=True),
        sa.Column("kafka_partition", sa.Integer(), primary_key=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("high_water", sa.BigInteger(), nullable=False),
        sa.Column("last_record_at", sa.DateTime(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_progress")
    op.drop_index("ix_dead_letter_rejected_at", table_name="dead_letter")
    op.drop_table("dead_letter")
