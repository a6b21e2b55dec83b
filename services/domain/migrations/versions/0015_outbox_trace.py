"""Tracing: sheet_outbox.traceparent, the W3C context of the request that saved the moment, so
the Sheets write that carries it later links back to that request (when tracing is on).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sheet_outbox") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sheet_outbox") as batch:
        batch.drop_column("traceparent")
