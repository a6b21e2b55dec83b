"""Response quality: each support conversation's reopening and latest rating, kept by the
consumer beside its other facts; conversations already stored get their reopening here.

Revision ID: 0021
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_conversation") as batch:
        batch.add_column(sa.Column("reopened_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
    # No rating event can exist yet (the kind is new), but reopenings can: the first inbound
    # message after the resolution, as services/ingest/conversations.py computes it.
    op.execute(
        "UPDATE support_conversation SET reopened_at = ("
        "SELECT MIN(e.occurred_at) FROM interaction_event e "
        "WHERE e.conversation_id IS NOT NULL AND e.network = support_conversation.network "
        "AND e.conversation_id = support_conversation.conversation_id "
        "AND e.kind = 'message_received' AND e.occurred_at > support_conversation.resolved_at"
        ") WHERE resolved_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("support_conversation") as batch:
        for column in ("rating_comment", "rated_at", "rating", "reopened_at"):
            batch.drop_column(column)
