"""Service levels stored per conversation, so the summary aggregates them in SQL.

- support_conversation gains first_response_business_s, resolution_business_s and sla_target_s:
  its business seconds and first-response target under its schedule. The consumer writes them
  with the conversation; every schedule change rewrites them all in its own transaction.
- Indexes for the figures: business seconds in value order (percentiles at their rank), each
  agent's answers in value order (the agents' medians), and the counting index extended with
  agent, business first response and target (SLA met is counted from the index alone). The
  narrow-read index of 0011 is no longer read and is dropped.
- Existing conversations are filled here from the schedules stored now (the one migration that
  runs Rapport's own code: business seconds need the zone arithmetic, not expressible in SQL).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

REPORT_OLD = [
    "first_inbound_at", "network", "account", "first_response_at", "first_response_s",
    "resolved_at", "resolution_s",
]  # fmt: skip
LEVELS_0011 = [
    "first_inbound_at", "account", "agent", "first_response_at", "first_response_s",
    "resolved_at", "resolution_s",
]  # fmt: skip
INDEXES = {
    "ix_conversation_by_response_business": [
        "first_response_business_s", "first_inbound_at", "network", "account", "first_response_at",
    ],
    "ix_conversation_by_resolution_business": [
        "resolution_business_s", "first_inbound_at", "network", "account", "resolved_at",
    ],
    "ix_conversation_agent_response": [
        "agent", "first_response_s", "first_inbound_at", "first_response_at", "network", "account",
    ],
    "ix_conversation_agent_response_business": [
        "agent", "first_response_business_s", "first_inbound_at", "first_response_at", "network",
        "account",
    ],
}  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("support_conversation") as batch:
        batch.add_column(sa.Column("first_response_business_s", sa.Float()))
        batch.add_column(sa.Column("resolution_business_s", sa.Float()))
        batch.add_column(sa.Column("sla_target_s", sa.Float()))
    from services.domain.stored_levels import recompute

    recompute(op.get_bind())
    op.drop_index("ix_conversation_levels", "support_conversation")
    op.drop_index("ix_conversation_report", "support_conversation")
    op.create_index(
        "ix_conversation_report",
        "support_conversation",
        [*REPORT_OLD, "agent", "first_response_business_s", "sla_target_s"],
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "support_conversation", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "support_conversation")
    op.drop_index("ix_conversation_report", "support_conversation")
    op.create_index("ix_conversation_report", "support_conversation", REPORT_OLD)
    op.create_index("ix_conversation_levels", "support_conversation", LEVELS_0011)
    with op.batch_alter_table("support_conversation") as batch:
        batch.drop_column("sla_target_s")
        batch.drop_column("resolution_business_s")
        batch.drop_column("first_response_business_s")
