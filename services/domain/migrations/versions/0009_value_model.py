"""The value model: per year, the assumptions that turn the figures into money (currency, cost
of an email and of a social support contact, CPM, CPC, value of a moment, programme cost).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

AMOUNTS = (
    "cost_per_email_contact",
    "cost_per_social_contact",
    "cpm",
    "cpc",
    "value_per_moment",
    "program_cost",
)


def upgrade() -> None:
    op.create_table(
        "value_model",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("currency", sa.String(3), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in AMOUNTS),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("value_model")
