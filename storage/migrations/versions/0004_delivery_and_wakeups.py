"""outbox.failing_since (fail over after errors for a while, not after N attempts); indexes that
let the alarm find the next deadline without walking rows in other states

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_clock_state_alert_at", "checkin_clock", ["state", "alert_at"]),
    ("ix_clock_state_remind_at", "checkin_clock", ["state", "remind_at"]),
    ("ix_alert_status_next_step_at", "alert", ["status", "next_step_at"]),
)


def upgrade() -> None:
    op.add_column("outbox", sa.Column("failing_since", storage.types.UtcDateTime(timezone=True), nullable=True))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failing_since")
