"""Session ids stored as their SHA-256, like API tokens: user_session.id held the cookie's value
itself, so a copy of the database (a backup, a leak) held cookies that log in.

The logins of before are kept: each id is replaced by its hash here, so the cookies people hold
still resolve (accounts.resolve hashes the cookie). A downgrade cannot turn hashes back into
ids: it ends every login instead (everyone logs in again).

Revision ID: 0017
Revises: 0016
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for (session_id,) in conn.execute(sa.text("SELECT id FROM user_session")).all():
        conn.execute(
            sa.text("UPDATE user_session SET id = :hashed WHERE id = :id"),
            {"hashed": hashlib.sha256(session_id.encode()).hexdigest(), "id": session_id},
        )


def downgrade() -> None:
    op.execute("DELETE FROM user_session")
