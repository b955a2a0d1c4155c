"""What the database holds, read straight from it, for assertions beside the transcripts."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Alert, CheckinClock
from tests.support.transcript import Chat


def alerts(chat: Chat) -> list[Alert]:
    """Every alert, oldest first."""
    with Session(chat.core.engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)).all())


def clock_of(chat: Chat) -> CheckinClock:
    """The one HRD's check-in clock (fails unless there is exactly one)."""
    with Session(chat.core.engine) as session:
        return session.exec(select(CheckinClock)).one()
