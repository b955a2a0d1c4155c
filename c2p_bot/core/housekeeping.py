"""Periodic housekeeping: retention of notes and closed alerts, deleting note-carrying chat
messages after ``delete_after``, and forgetting old de-duplication keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_
from sqlmodel import col, delete, select, update

from c2p_bot.core.audit import audit
from c2p_bot.core.events import DELETE_MESSAGE, Priority
from storage.models import Alert, Checkin, Note, OutboxMessage, Proposal, SeenEvent

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

SEEN_EVENTS_KEPT = timedelta(days=7)
DELIVERED_KEPT = timedelta(days=7)
RETENTION_EVERY = timedelta(hours=24)
RETENTION_CHUNK = 2_000  # rows per delete transaction (a few ms each)
CLOSED_PROPOSALS = ("accepted", "declined", "rejected", "expired", "superseded")


class Housekeeping:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._last_retention: datetime | None = None

    def retention(self, now: datetime) -> int:
        """Once a day (and at start): delete old notes and closed alerts, and the bookkeeping that
        would otherwise pile up as metadata (check-in history, sent and failed messages, closed
        proposals, de-duplication keys). In chunks, each its own short transaction, so a large
        table never holds the database (and everyone waiting on it) for long."""
        if self._last_retention is not None and now - self._last_retention < RETENTION_EVERY:
            return 0
        self._last_retention = now
        config = self.core.config.retention
        counts = {
            "notes": self._delete_chunked(Note, col(Note.created_at) < now - config.notes),
            "alerts": self._delete_chunked(Alert, and_(
                col(Alert.status) == "resolved", col(Alert.resolved_at) < now - config.closed_alerts)),
            "checkins": self._delete_chunked(Checkin, col(Checkin.received_at) < now - config.notes),
            "proposals": self._delete_chunked(Proposal, and_(
                col(Proposal.status).in_(CLOSED_PROPOSALS), col(Proposal.created_at) < now - config.closed_alerts)),
        }
        self._delete_chunked(SeenEvent, col(SeenEvent.seen_at) < now - SEEN_EVENTS_KEPT)
        self._delete_chunked(OutboxMessage, and_(
            col(OutboxMessage.delivered_at) < now - DELIVERED_KEPT, col(OutboxMessage.delete_at).is_(None)))
        self._delete_chunked(OutboxMessage, col(OutboxMessage.failed_at) < now - DELIVERED_KEPT)
        removed = counts["notes"] + counts["alerts"]
        if any(counts.values()):
            with self.core.session() as session:
                audit(session, now, "retention", detail=" ".join(f"{k}={v}" for k, v in counts.items()))
                session.commit()
        return removed

    def _delete_chunked(self, model: Any, where: Any) -> int:
        """Delete the rows of ``model`` matching ``where``, ``RETENTION_CHUNK`` at a time."""
        removed = 0
        while True:
            with self.core.session() as session:
                ids = session.exec(select(model.id).where(where).limit(RETENTION_CHUNK)).all()
                if not ids:
                    return removed
                session.execute(delete(model).where(col(model.id).in_(ids)))
                session.commit()
            removed += len(ids)
            if len(ids) < RETENTION_CHUNK:
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
