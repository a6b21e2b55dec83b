"""Dead letters keyed by what they are, not where the broker put them: dead_letter.letter_id,
the SHA-256 of the record's bytes, is the primary key; kafka_partition and kafka_offset stay,
as where the letter was first read.

Before, (kafka_partition, kafka_offset) was the key. An embedded broker starts its offsets at 0
again on every `rapport up`, so a new run's letter at an offset an old one had was dropped as
"already stored"; and the journal's replay of an old broker's records (the same bytes, at new
offsets) stored letters twice. Rows kept from before get `kafka:<partition>:<offset>` as id.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = "kafka_partition, kafka_offset, source, reason, error, rejected_at"


def _table(name: str, *, by_letter: bool) -> None:
    op.create_table(
        name,
        *([sa.Column("letter_id", sa.String(64), primary_key=True)] if by_letter else []),
        sa.Column("kafka_partition", sa.Integer(), primary_key=not by_letter, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), primary_key=not by_letter, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("rejected_at", sa.DateTime(), nullable=False),
    )


def upgrade() -> None:
    _table("dead_letter_new", by_letter=True)
    op.execute(
        f"INSERT INTO dead_letter_new (letter_id, {COLUMNS}) "
        "SELECT 'kafka:' || CAST(kafka_partition AS VARCHAR(11)) || ':' || "
        f"CAST(kafka_offset AS VARCHAR(20)), {COLUMNS} FROM dead_letter"
    )
    op.drop_index("ix_dead_letter_rejected_at", table_name="dead_letter")
    op.drop_table("dead_letter")
    op.rename_table("dead_letter_new", "dead_letter")
    op.create_index("ix_dead_letter_rejected_at", "dead_letter", ["rejected_at"])


def downgrade() -> None:
    _table("dead_letter_old", by_letter=False)
    op.execute(
        f"INSERT INTO dead_letter_old ({COLUMNS}) SELECT {COLUMNS} FROM dead_letter d "
        "WHERE letter_id = (SELECT MIN(letter_id) FROM dead_letter e "
        "WHERE e.kafka_partition = d.kafka_partition AND e.kafka_offset = d.kafka_offset)"
    )
    op.drop_index("ix_dead_letter_rejected_at", table_name="dead_letter")
    op.drop_table("dead_letter")
    op.rename_table("dead_letter_old", "dead_letter")
    op.create_index("ix_dead_letter_rejected_at", "dead_letter", ["rejected_at"])
