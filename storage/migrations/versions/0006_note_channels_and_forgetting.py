"""Where each note was written, whether an HRD lets notes travel over Telegram, and the one
sanctioned rewrite of the append-only audit log: pseudonymising a forgotten person (issue 13 H4, L).

``note.platform``: the platform a note was written on; a note is never shown over a less
protected platform than that (Matrix is end-to-end encrypted, Telegram is not) unless the HRD set
``person.notes_over_telegram``. Notes written before this migration have no platform
(``c2p_bot.core.notes.origin_level`` decides from the HRD's identities).

``audit_rewrite`` opens the audit log's triggers for one thing only: while a row naming a
pseudonym exists (``/forget`` inserts it, rewrites, and deletes it in the same transaction), an
UPDATE may change an entry's subject and detail, and clear its actor, provided the id, time and
action stay and the new text carries that pseudonym. DELETE stays refused, always.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_GATED_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN NOT ("
    " NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action"
    " AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)"
    " AND EXISTS (SELECT 1 FROM audit_rewrite r WHERE"
    "  instr(coalesce(NEW.subject, '') || ' ' || coalesce(NEW.detail, ''), r.pseudonym) > 0))"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
_SQLITE_PLAIN_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
_PG_GATED = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action "
    "AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id) "
    "AND EXISTS (SELECT 1 FROM audit_rewrite r WHERE "
    "position(r.pseudonym in coalesce(NEW.subject, '') || ' ' || coalesce(NEW.detail, '')) > 0) "
    "THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'audit_log is append-only'; END $$"
)
_PG_PLAIN = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
)


def upgrade() -> None:
    op.add_column("note", sa.Column("platform", sa.String(length=16), nullable=True))
    op.add_column("person", sa.Column("notes_over_telegram", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table("audit_rewrite", sa.Column("pseudonym", sa.String(length=32), primary_key=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute(_SQLITE_GATED_UPDATE)
    else:
        op.execute(_PG_GATED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute(_SQLITE_PLAIN_UPDATE)
    else:
        op.execute(_PG_PLAIN)
    op.drop_table("audit_rewrite")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("notes_over_telegram")
    with op.batch_alter_table("note") as batch:
        batch.drop_column("platform")
