"""Scenario 9 — replays: the same event twice, and a re-sent old check-in.
(Telegram updates and Matrix events are replayed in tests/telegram and tests/matrix.)
Pass: each recorded once; a stale check-in does not reset the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from storage.models import Checkin, CheckinClock
from tests.support.people import trio
from tests.support.report import figure
from tests.support.transcript import Chat


async def test_replayed_events_and_stale_checkins(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/checkin one", event_id="evt-1")
    for _ in range(5):
        await chat.say("amina", "/checkin one", event_id="evt-1")
    chat.clock.advance(timedelta(hours=3))
    with Session(chat.core.engine) as session:
        due = session.exec(select(CheckinClock)).one().next_due
    await chat.say("amina", "/checkin old", event_id="evt-old", sent_at=chat.clock.now() - timedelta(hours=5))
    with Session(chat.core.engine) as session:
        checkins = session.exec(select(func.count()).select_from(Checkin)).one()
        assert session.exec(select(CheckinClock)).one().next_due == due
    replies = [m for m in chat.transport.inbox["amina"] if m.text.startswith("Checked in")]
    assert checkins == 1 and len(replies) == 2
    figure("replays", sent=7, recorded=checkins, stale_resets=0)
