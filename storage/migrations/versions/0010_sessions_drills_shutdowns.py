"""risky-event sessions, drills and shutdown awareness (issue 14, part C)

``risk_session``: a one-off deadline an HRD sets on top of their schedule (``/session 3h``); the
sweeper finds the due ones through the index on (state, due_at). Its note is a sealed ``note``
row (kind ``session``), referenced by ``note_id``.

``alert.raised_by``: who raised an alert for the HRD (the coordinator who started a drill).
``alert_recipient.acked_at``: when each recipient acknowledged (a drill's time to acknowledge).
``ix_alert_kind_raised_at``: the recent misses by kind, for the shutdown check.

``shutdown_notice``: the "possible connectivity shutdown" notices sent, at most one per country
within ``[shutdown] window``.

Plain ALTER TABLE ADD COLUMN on existing tables (never a batch rebuild, which would lose
AUTOINCREMENT on SQLite); the new tables are created with AUTOINCREMENT (migration 0003).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("raised_by", sa.Integer(), nullable=True))
    op.add_column("alert_recipient", sa.Column("acked_at", storage.types.UtcDateTime(timezone=True), nullable=True))
    op.create_index("ix_alert_kind_raised_at", "alert", ["kind", "raised_at"], unique=False)
    op.create_table(
        "risk_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hrd_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("started_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hrd_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["note_id"], ["note.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_risk_session_hrd_id", "risk_session", ["hrd_id"], unique=False)
    op.create_index("ix_risk_session_state_due_at", "risk_session", ["state", "due_at"], unique=False)
    op.create_table(
        "shutdown_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sent_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("hrds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_shutdown_notice_country_sent_at", "shutdown_notice", ["country", "sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shutdown_notice_country_sent_at", table_name="shutdown_notice")
    op.drop_table("shutdown_notice")
    op.drop_index("ix_risk_session_state_due_at", table_name="risk_session")
    op.drop_index("ix_risk_session_hrd_id", table_name="risk_session")
    op.drop_table("risk_session")
    op.drop_index("ix_alert_kind_raised_at", table_name="alert")
    op.execute("ALTER TABLE alert_recipient DROP COLUMN acked_at")
    op.execute("ALTER TABLE alert DROP COLUMN raised_by")
