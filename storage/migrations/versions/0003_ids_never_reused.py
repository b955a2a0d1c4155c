"""ids are never reused: AUTOINCREMENT on SQLite (issue 12, item 4)

Without AUTOINCREMENT, SQLite gives a new row max(id) + 1, so deleting the newest rows
(``/forget`` erases an HRD's alerts) hands their ids out again, and the new alert's outbox rows
collide with the old idempotency keys. SQLite cannot add AUTOINCREMENT to an existing table,
so each table with an integer ``id`` is rebuilt: same columns, constraints, indexes and
triggers (the audit log's append-only ones), same rows, and ``sqlite_sequence`` seeded above
the highest id ever seen — in the table, or in the audit log's subjects (``alert:17``) and the
outbox's references, which outlive deleted rows.

storage/migrate.py runs SQLite migrations with foreign keys off (a table cannot be dropped
and recreated under its children otherwise) and checks ``PRAGMA foreign_key_check`` before
committing. PostgreSQL sequences never go back: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "person", "identity", "invite", "audit_log", "outbox", "seen_event", "checkin", "match",
    "alert", "alert_recipient", "note", "note_copy", "proposal",
)

# Where an id can still be seen after its row is gone: ids named in audit subjects
# ("alert:17"; the audit log is append-only, so it remembers every alert and person) and
# ids the outbox refers to without a foreign key.
AUDIT_PREFIXES = {"person": "person", "invite": "invite", "match": "match", "alert": "alert",
                  "proposal": "proposal"}
OUTBOX_REFERENCES = {"alert": "alert_id", "identity": "identity_id"}

_ID_COLUMN = re.compile(r"(\n\s*)id INTEGER NOT NULL,")
_PRIMARY_KEY = re.compile(r",\s*PRIMARY KEY \(id\)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.execute(text("PRAGMA foreign_keys")).scalar():
        raise RuntimeError("migration 0003 rebuilds tables: run it through storage.migrate.upgrade, "
                           "which turns SQLite foreign keys off for the rebuild")
    for table in TABLES:
        _rebuild_with_autoincrement(bind, table)
    for table in TABLES:
        _seed_sequence(bind, table)


def _rebuild_with_autoincrement(bind: Connection, table: str) -> None:
    create = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    if "AUTOINCREMENT" in create.upper():
        return
    new_create, columns = _ID_COLUMN.subn(r"\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", create, 1)
    new_create, keys = _PRIMARY_KEY.subn("", new_create, 1)
    head = re.match(rf'CREATE TABLE ("?){table}\1 \(', new_create)
    if columns != 1 or keys != 1 or head is None:
        raise RuntimeError(f"migration 0003: unexpected definition of table {table}")
    scratch = f"_0003_{table}"
    # Indexes and triggers go with the old table; keep their definitions to make them again.
    # (UNIQUE constraints' automatic indexes have no SQL: the new table's definition makes them.)
    dependents = [row[0] for row in bind.execute(
        text("SELECT sql FROM sqlite_master WHERE tbl_name = :t AND type IN ('index', 'trigger') "
             "AND sql IS NOT NULL ORDER BY type, name"), {"t": table})]
    bind.exec_driver_sql(f'CREATE TABLE "{scratch}" (' + new_create[head.end():])
    bind.exec_driver_sql(f'INSERT INTO "{scratch}" SELECT * FROM "{table}"')  # noqa: S608 (our names)
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{scratch}" RENAME TO "{table}"')
    for sql in dependents:
        bind.exec_driver_sql(sql)


def _seed_sequence(bind: Connection, table: str) -> None:
    """Start the table's counter above every id of it that is still visible anywhere."""
    highest = bind.execute(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar_one()  # noqa: S608
    prefix = AUDIT_PREFIXES.get(table)
    if prefix is not None:
        audited = bind.execute(text(
            "SELECT COALESCE(MAX(CAST(substr(subject, :n) AS INTEGER)), 0) FROM audit_log "
            "WHERE subject GLOB :pattern"), {"n": len(prefix) + 2, "pattern": f"{prefix}:[0-9]*"}
        ).scalar_one()
        highest = max(highest, audited)
    reference = OUTBOX_REFERENCES.get(table)
    if reference is not None:
        referenced = bind.execute(
            text(f"SELECT COALESCE(MAX({reference}), 0) FROM outbox")  # noqa: S608
        ).scalar_one()
        highest = max(highest, referenced)
    current = bind.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).first()
    if current is None:
        bind.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
                     {"t": table, "seq": highest})
    elif current[0] < highest:
        bind.execute(text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :t"),
                     {"t": table, "seq": highest})


def downgrade() -> None:
    # AUTOINCREMENT only stops ids coming back; an older schema works with it. Nothing to undo.
    pass
