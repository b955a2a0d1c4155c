"""partnerships over time: match terms, renewals and contact; handovers; partner actions (issue 16)

``match``: ``ends_at`` (the end of its term), ``renew_ask_at`` (when both sides are asked whether
to renew; None once asked), ``hrd_renews`` and ``partner_renews`` (their answers),
``last_contact_at`` and ``nudge_at`` (the contact tracker: both are nudged at ``nudge_at``, once
per lapse). Each deadline has an index on (status, deadline), so the sweeper's periodic pass
reads only the active matches that are due. Matches from before this migration get their term
from the bot at its next sweep (c2p_bot.core.partnerships).

``proposal``: ``from_partner_id`` and ``consent`` for a handover (origin ``handover``): the
partner handing over, and whether the HRD lets the successor read their past case logbook.

``partner_action``: what a partner did for an HRD (its kind; the words are a sealed note).

Plain ALTER TABLE ADD COLUMN on existing tables (never a batch rebuild, which would lose
AUTOINCREMENT on SQLite); the new table is created with AUTOINCREMENT (migration 0003).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_MATCH_DEADLINES = ("ends_at", "renew_ask_at", "nudge_at")


def upgrade() -> None:
    for name in (*_MATCH_DEADLINES, "last_contact_at"):
        op.add_column("match", sa.Column(name, storage.types.UtcDateTime(timezone=True), nullable=True))
    op.add_column("match", sa.Column("hrd_renews", sa.Boolean(), nullable=True))
    op.add_column("match", sa.Column("partner_renews", sa.Boolean(), nullable=True))
    for name in _MATCH_DEADLINES:
        op.create_index(f"ix_match_status_{name}", "match", ["status", name], unique=False)
    op.add_column("proposal", sa.Column("from_partner_id", sa.Integer(), nullable=True))
    op.add_column("proposal", sa.Column("consent", sa.String(length=8), nullable=True))
    op.create_table(
        "partner_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hrd_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hrd_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["note_id"], ["note.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    for column in ("hrd_id", "note_id", "alert_id", "created_at"):
        op.create_index(f"ix_partner_action_{column}", "partner_action", [column], unique=False)


def downgrade() -> None:
    op.drop_table("partner_action")
    for name in _MATCH_DEADLINES:
        op.drop_index(f"ix_match_status_{name}", table_name="match")
    # Plain ALTER TABLE DROP COLUMN (SQLite >= 3.35), so AUTOINCREMENT stays.
    for table, name in (("proposal", "consent"), ("proposal", "from_partner_id"), ("match", "partner_renews"),
                        ("match", "hrd_renews"), ("match", "last_contact_at"), *(("match", n) for n in _MATCH_DEADLINES)):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {name}')
