"""Retention prunes the metadata that would otherwise pile up, in short chunks (issue 12 item 8,
issue 13 L)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

import c2p_bot.core.housekeeping as housekeeping
from c2p_bot.core.events import Priority
from storage.models import Checkin, OutboxMessage, SeenEvent
from tests.support.durations import DAY
from tests.support.people import trio
from tests.support.transcript import Chat


def count(chat: Chat, model: type) -> int:
    with Session(chat.core.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


async def test_retention_prunes_history_in_chunks(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(housekeeping, "RETENTION_CHUNK", 3)
    await trio(chat)
    for _ in range(7):
        chat.clock.advance(timedelta(hours=2))
        await chat.say("amina", "/checkin")
    with chat.core.session() as session:  # seven messages that failed for good
        for n in range(7):
            row = chat.core.outbox.to_chat(session, platform="memory", chat_id="gone", text="x",
                                           now=chat.clock.now(), key=f"failed:{n}", priority=Priority.NOTICE)
            assert row is not None
            row.failed_at = chat.clock.now()
        session.commit()
    old_events = count(chat, SeenEvent)
    assert count(chat, Checkin) == 7 and old_events >= 7
    chat.clock.advance(31 * DAY)
    await chat.say("amina", "/checkin")  # a fresh one, kept
    statements: list[str] = []
    from sqlalchemy import event

    @event.listens_for(chat.core.engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE FROM CHECKIN"):
            statements.append(statement)

    await chat.tick()
    event.remove(chat.core.engine, "before_cursor_execute", record)
    assert count(chat, Checkin) == 1
    with Session(chat.core.engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.failed_at.is_not(None))).all()  # type: ignore[union-attr]
        assert failed == []
        assert session.exec(select(SeenEvent).where(
            SeenEvent.seen_at < chat.clock.now() - timedelta(days=7))).all() == []
    assert len(statements) == 3  # 7 rows, 3 at a time: no single long transaction
