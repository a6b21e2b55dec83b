"""Service levels: support schedules (business hours), and the agent of each conversation.

- support_schedule: one row per brand account with its own schedule, plus the default (account
  ''): IANA zone, weekly hours, holidays, first-response target. Business seconds are computed
  from it when a figure is asked for, so a change applies to every figure, past ones included.
- support_conversation.agent: the actor of the conversation's first response (who answered),
  filled from the stored events for conversations already there.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_schedule",
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("holidays", sa.Text(), nullable=False),
        sa.Column("first_response_target_s", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("support_conversation") as batch:
        batch.add_column(sa.Column("agent", sa.Text()))
    op.execute(
        "UPDATE support_conversation SET agent = ("
        " SELECT e.actor FROM interaction_event e"
        " WHERE e.network = support_conversation.network"
        " AND e.conversation_id = support_conversation.conversation_id"
        " AND e.kind = 'message_sent'"
        " AND e.occurred_at >= support_conversation.first_inbound_at"
        " ORDER BY e.occurred_at LIMIT 1)"
        " WHERE first_response_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("support_conversation") as batch:
        batch.drop_column("agent")
    op.drop_table("support_schedule")
