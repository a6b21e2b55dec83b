"""Ingest tables: events, rollups, support conversations, API tokens.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interaction_event",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("utc_offset_minutes", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("actor", sa.Text()),
        sa.Column("conversation_id", sa.String(200)),
        sa.Column("post_id", sa.String(200)),
        sa.Column("url", sa.String(2048)),
        sa.Column("attributes", sa.Text()),
        sa.Column("ingested_at_us", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
    )
    op.create_index("ix_event_conversation", "interaction_event", ["network", "conversation_id"])
    op.create_index("ix_event_occurred_at", "interaction_event", ["occurred_at"])
    op.create_index("ix_event_url", "interaction_event", ["url"])
    for table, bucket in (("rollup_hourly", sa.DateTime()), ("rollup_daily", sa.Date())):
        op.create_table(
            table,
            sa.Column("hour" if table == "rollup_hourly" else "day", bucket, primary_key=True),
            sa.Column("network", sa.String(16), primary_key=True),
            sa.Column("account", sa.String(200), primary_key=True),
            sa.Column("kind", sa.String(32), primary_key=True),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.Column("events", sa.BigInteger(), nullable=False),
        )
    op.create_table(
        "support_conversation",
        sa.Column("network", sa.String(16), primary_key=True),
        sa.Column("conversation_id", sa.String(200), primary_key=True),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048)),
        sa.Column("first_inbound_at", sa.DateTime()),
        sa.Column("first_response_at", sa.DateTime()),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("messages_received", sa.Integer(), nullable=False),
        sa.Column("messages_sent", sa.Integer(), nullable=False),
    )
    op.create_index("ix_conversation_first_inbound", "support_conversation", ["first_inbound_at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime()),
    )


def downgrade() -> None:
    for table in (
        "api_token",
        "support_conversation",
        "rollup_daily",
        "rollup_hourly",
        "interaction_event",
    ):
        op.drop_table(table)
