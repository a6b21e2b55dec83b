"""Monthly report deliveries: one row per (month, recipients) once the SMTP server accepted it,
so the scheduled mailer never sends the same month twice, whatever restarts it.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_delivery",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("recipients", sa.String(2000), primary_key=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_delivery")
