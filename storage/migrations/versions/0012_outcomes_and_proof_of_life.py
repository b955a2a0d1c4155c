"""alert outcomes and proof-of-life questions (issue 14, part B)

``alert.outcome``: how a resolved alert ended — safe, false-alarm, incident, detained or drill
(c2p_bot.core.outcomes); the words said about it are a sealed ``note`` of kind ``resolve``.

``proof_request``: each proof-of-life question put to a defender (``/prove``): asked, then matched,
failed or expired; the sweeper finds the expired ones through the index on (status, expires_at).
Neither the question nor the answer is stored here.

Plain ALTER TABLE ADD COLUMN on the existing table (never a batch rebuild, which would lose
AUTOINCREMENT on SQLite); the new table is created with AUTOINCREMENT (migration 0003).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("outcome", sa.String(length=16), nullable=True))
    op.create_table(
        "proof_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("hrd_id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("asked_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["hrd_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proof_request_alert_id", "proof_request", ["alert_id"], unique=False)
    op.create_index("ix_proof_request_hrd_id", "proof_request", ["hrd_id"], unique=False)
    op.create_index("ix_proof_request_status_expires_at", "proof_request", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_proof_request_status_expires_at", table_name="proof_request")
    op.drop_index("ix_proof_request_hrd_id", table_name="proof_request")
    op.drop_index("ix_proof_request_alert_id", table_name="proof_request")
    op.drop_table("proof_request")
    op.execute("ALTER TABLE alert DROP COLUMN outcome")
