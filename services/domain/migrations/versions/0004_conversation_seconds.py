"""Keep first-response and resolution seconds on conversations, so reports aggregate in SQL.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_conversation") as batch:
        batch.add_column(sa.Column("first_response_s", sa.Float()))
        batch.add_column(sa.Column("resolution_s", sa.Float()))
    # Covers every column the support figures read, so a year is one index range scan.
    op.create_index(
        "ix_conversation_report",
        "support_conversation",
        [
            "first_inbound_at",
            "network",
            "account",
            "first_response_at",
            "first_response_s",
            "resolved_at",
            "resolution_s",
        ],
    )
    if op.get_bind().dialect.name == "sqlite":
        seconds = "ROUND((julianday({end}) - julianday(first_inbound_at)) * 86400.0, 3)"
    else:
        seconds = "EXTRACT(EPOCH FROM ({end} - first_inbound_at))"
    op.execute(
        "UPDATE support_conversation SET "
        f"first_response_s = {seconds.format(end='first_response_at')}, "
        f"resolution_s = {seconds.format(end='resolved_at')}"
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_report", "support_conversation")
    with op.batch_alter_table("support_conversation") as batch:
        batch.drop_column("resolution_s")
        batch.drop_column("first_response_s")
