"""Row integrity and two-person coordinator invites (issue 13 M).

``mac`` on person, identity, match and outbox: an HMAC-SHA256, keyed from the key-encryption
key, over the columns that decide where an alert goes or who may read. A migration has no key,
so existing rows get their MAC when the bot next starts with the key (see
``c2p_bot.core.integrity.seal_existing``). ``invite.needs_approval``/``approved_by``/
``approved_at``: with ``[security] coordinator_invites = "two-person"`` a coordinator invite
works only once a second coordinator approved it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MAC_TABLES = ("person", "identity", "match", "outbox")


def upgrade() -> None:
    for table in MAC_TABLES:
        op.add_column(table, sa.Column("mac", sa.LargeBinary(), nullable=True))
    op.add_column("invite", sa.Column("needs_approval", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("invite", sa.Column("approved_by", sa.Integer(), nullable=True))
    op.add_column("invite", sa.Column("approved_at", storage.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invite") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("approved_by")
        batch.drop_column("needs_approval")
    for table in MAC_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("mac")
