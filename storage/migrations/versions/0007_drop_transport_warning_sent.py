"""drop person.transport_warning_sent (never read: the Telegram warning is sent once at
registration by the transport's hook)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both (SQLite >= 3.35): batch mode would rebuild the table from its
    # reflection and lose AUTOINCREMENT (migration 0003).
    op.execute("ALTER TABLE person DROP COLUMN transport_warning_sent")


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("transport_warning_sent", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
