"""email addresses for alert emails (issue 16, email as an escalation channel)

``email_address``: one per person at most (a partner or a coordinator), used for alert emails
only once ``confirmed`` by the one-time code sent to it; the code is kept as a salted hash with
its expiry and tries. Row MAC (``mac``) as for identities (c2p_bot.core.integrity). Created with
AUTOINCREMENT on SQLite (migration 0003); deleted with the person (``/forget``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=True),
        sa.Column("code_expires_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("code_tries", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("mac", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("email_address")
