"""Periodic housekeeping: retention of notes and closed alerts, deleting note-carrying chat
messages after ``delete_after``, and forgetting old de-duplication keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, delete, select, update

from c2p_bot.core.audit import audit
from c2p_bot.core.events import DELETE_MESSAGE, Priority
from storage.models import Alert, Note, OutboxMessage, SeenEvent

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

SEEN_EVENTS_KEPT = timedelta(days=7)
DELIVERED_KEPT = timedelta(days=7)
RETENTION_EVERY = timedelta(hours=24)


class Housekeeping:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._last_retention: datetime | None = None

    def retention(self, now: datetime) -> int:
        """Once a day (and at start): delete old notes and closed alerts, old bookkeeping rows."""
        if self._last_retention is not None and now - self._last_retention < RETENTION_EVERY:
            return 0
        self._last_retention = now
        config = self.core.config.retention
        with self.core.session() as session:
            notes = session.execute(delete(Note).where(col(Note.created_at) < now - config.notes))
            alerts = session.execute(delete(Alert).where(
                col(Alert.status) == "resolved", col(Alert.resolved_at) < now - config.closed_alerts))
            session.execute(delete(SeenEvent).where(col(SeenEvent.seen_at) < now - SEEN_EVENTS_KEPT))
            session.execute(delete(OutboxMessage).where(
                col(OutboxMessage.delivered_at) < now - DELIVERED_KEPT, col(OutboxMessage.delete_at).is_(None)))
            removed = (notes.rowcount or 0) + (alerts.rowcount or 0)  # type: ignore[attr-defined]
            if removed:
                audit(session, now, "retention", detail=f"notes={notes.rowcount} alerts={alerts.rowcount}")  # type: ignore[attr-defined]
            session.commit()
        return removed

    def delete_old_messages(self, now: datetime) -> int:
        """Queue deletion of delivered messages that carried notes, once ``delete_at`` passes."""
        done = 0
        with self.core.session() as session:
            rows = session.exec(select(OutboxMessage).where(
                col(OutboxMessage.delete_at) <= now, col(OutboxMessage.platform_message_id).is_not(None)
            ).limit(500)).all()
            for row in rows:
                claimed = session.execute(update(OutboxMessage).where(
                    col(OutboxMessage.id) == row.id, col(OutboxMessage.delete_at) == row.delete_at,
                ).values(delete_at=None))
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                self.core.outbox.to_chat(
                    session, platform=row.platform, chat_id=row.chat_id, text=row.platform_message_id or "",
                    now=now, key=f"delete:{row.platform}:{row.chat_id}:{row.platform_message_id}",
                    priority=Priority.REMINDER, kind=DELETE_MESSAGE)
                done += 1
            self.core.commit(session)
        return done
