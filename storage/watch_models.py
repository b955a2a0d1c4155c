"""Tables of risky-event sessions and shutdown notices (issue 14, part C; migration 0010).

Kept beside :mod:`storage.models` (which imports them, so they are registered with every other
table) to keep that module short; same conventions: ids never reused, UTC timestamps.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime

NEVER_REUSE_IDS = {"sqlite_autoincrement": True}  # as storage.models.NEVER_REUSE_IDS (migration 0003)


def _ts(nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(UtcDateTime(), nullable=nullable)


class RiskSession(SQLModel, table=True):
    """A risky-event session (``/session``, c2p_bot.core.risk_sessions): a one-off deadline on top of
    the HRD's schedule. Its note is a sealed ``Note`` (kind ``session``), never here in clear."""

    __tablename__ = "risk_session"
    __table_args__ = (Index("ix_risk_session_state_due_at", "state", "due_at"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    state: str = Field(default="open", max_length=8)  # open | ended | missed
    started_at: datetime = Field(sa_column=_ts(nullable=False))
    due_at: datetime = Field(sa_column=_ts(nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=_ts())
    note_id: int | None = Field(default=None, foreign_key="note.id", ondelete="SET NULL")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", ondelete="SET NULL")


class ShutdownNotice(SQLModel, table=True):
    """A "possible connectivity shutdown" notice sent to the coordinators (c2p_bot.core.shutdown):
    at most one per country within ``[shutdown] window``."""

    __tablename__ = "shutdown_notice"
    __table_args__ = (Index("ix_shutdown_notice_country_sent_at", "country", "sent_at"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    country: str = Field(max_length=2)
    sent_at: datetime = Field(sa_column=_ts(nullable=False))
    hrds: int = Field(default=0)  # how many defenders had missed within the window
