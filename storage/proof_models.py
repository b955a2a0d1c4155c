"""Proof-of-life questions (issue 14, part B; migration 0012): ``/prove ALERT`` asks the defender
the question of their emergency plan (c2p_bot.core.proof_flow).

Kept beside :mod:`storage.models` (which imports it, so it is registered with every other table);
same conventions: ids never reused, UTC timestamps. Neither the question nor the answer is here:
the question lives in the sealed plan, the answer is checked against its hash and forgotten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime

NEVER_REUSE_IDS = {"sqlite_autoincrement": True}  # as storage.models.NEVER_REUSE_IDS (migration 0003)


def _ts(nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(UtcDateTime(), nullable=nullable)


class ProofRequest(SQLModel, table=True):
    """One proof-of-life question put to an HRD about an alert: asked, then ``matched``, ``failed``
    or ``expired`` (no answer by ``expires_at``; a late answer is still checked)."""

    __tablename__ = "proof_request"
    __table_args__ = (Index("ix_proof_request_status_expires_at", "status", "expires_at"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    asker_id: int | None = Field(default=None)
    status: str = Field(default="asked", max_length=12)  # asked | matched | failed | expired
    asked_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=_ts())
