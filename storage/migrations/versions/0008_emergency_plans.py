"""emergency plans: ``plan`` and ``plan_copy`` (issue 14)

``plan``: one per HRD. The plan itself is never stored in clear: ``sealed`` holds it wrapped by
the key-encryption key (bound to the plan, its HRD and its version), so the bot can seal it to a
partner matched or a coordinator registered later; ``plan_copy`` holds it sealed to each reader's
public key (bound to plan, version and reader), like ``note_copy``. ``proof_hash`` is the
proof-of-life answer's argon2id hash, wrapped by the key-encryption key like the PINs.
``review_at`` (indexed) is when the HRD is next asked to review the plan.

New tables only, created with AUTOINCREMENT on SQLite (ids are never reused, migration 0003);
no existing table is altered, so no table is rebuilt.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hrd_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("proof_hash", sa.LargeBinary(), nullable=True),
        sa.Column("progress", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("review_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["hrd_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hrd_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_plan_review_at", "plan", ["review_at"], unique=False)
    op.create_table(
        "plan_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reader_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "reader_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_plan_copy_plan_id", "plan_copy", ["plan_id"], unique=False)
    op.create_index("ix_plan_copy_reader_id", "plan_copy", ["reader_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_plan_copy_reader_id", table_name="plan_copy")
    op.drop_index("ix_plan_copy_plan_id", table_name="plan_copy")
    op.drop_table("plan_copy")
    op.drop_index("ix_plan_review_at", table_name="plan")
    op.drop_table("plan")
