"""Moments, audit trail, sheet outbox, staff users and sessions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("link", sa.String(2048), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("customer_status", sa.String(32), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("initiated_by", sa.String(16)),
        sa.Column("notes", sa.Text()),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("logged_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_moment_occurred_on", "moment", ["occurred_on"])
    op.create_index("ix_moment_link", "moment", ["link"])
    op.create_table(
        "moment_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("moment_id", sa.String(36), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("changes", sa.Text()),
    )
    op.create_table(
        "sheet_outbox",
        sa.Column("moment_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("user_session", "app_user", "sheet_outbox", "moment_audit", "moment"):
        op.drop_table(table)
