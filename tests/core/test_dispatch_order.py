"""The dispatcher always sends what is sendable next, counts failures honestly and digests alerts.

Reproduces issue 12, items 2 and 5: backlogged chats filled the pick window (head-of-line
blocking), replies waited behind reminders, a 429 counted as a failed attempt and three of them
failed an alert over, resends after transport exceptions had no cap, and a refused deletion
was recorded as done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from c2p_bot.core.dispatcher import Dispatcher, Pacing
from c2p_bot.core.events import DELETE_MESSAGE, Button, DeliveryError, Outgoing, Priority
from c2p_bot.core.outbox import new_key
from storage.models import Alert, Identity, OutboxMessage
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import Chat


@dataclass
class Recorder:
    """A transport that records what it sends and when (a short round trip per call)."""

    platform: str = "rec"
    sent: list[tuple[float, Outgoing]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    async def deliver(self, message: Outgoing) -> str:
        await asyncio.sleep(0.02)
        self.sent.append((time.monotonic() - self.started, message))
        return str(len(self.sent))


def queue(chat: Chat, platform: str, chat_id: str, text: str, priority: int, kind: str,
          buttons: list[list[Button]] | None = None) -> None:
    with chat.core.session() as session:
        chat.core.outbox.to_chat(session, platform=platform, chat_id=chat_id, text=text, now=chat.clock.now(),
                                 key=new_key("t"), priority=priority, kind=kind, buttons=buttons or [])
        session.commit()


async def run_for(dispatcher: Dispatcher, seconds: float) -> None:
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(seconds)
    dispatcher.stop()
    await asyncio.wait_for(task, 5)


async def test_a_backlogged_chat_never_holds_back_the_others(chat: Chat) -> None:
    """200 alerts queued for one coordinator, then one for a partner, 60 reminders and a reply:
    the reply goes first, the partner's alert next, then the reminders; the coordinator gets
    digests, at most one message a second."""
    recorder = Recorder()
    dispatcher = chat.runtime.add_transport(recorder, Pacing(per_second=30, per_chat_interval=1.0))
    for n in range(200):
        queue(chat, "rec", "coordinator", f"ALERT #{n}", Priority.ESCALATION, "alert",
              [[Button("Acknowledge", f"/ack {n}")]])
    queue(chat, "rec", "partner", "ALERT #999", Priority.ESCALATION, "alert")
    for n in range(60):
        queue(chat, "rec", f"hrd{n}", "Reminder", Priority.REMINDER, "reminder")
    queue(chat, "rec", "amina", "Checked in. Thank you.", Priority.REPLY, "reply")
    recorder.started = time.monotonic()
    await run_for(dispatcher, 3.5)
    order = [m.chat_id for _t, m in recorder.sent]
    assert order[:3] == ["amina", "coordinator", "partner"]
    when = {m.chat_id: t for t, m in recorder.sent}
    assert when["partner"] < 0.5
    to_coordinator = [m for _t, m in recorder.sent if m.chat_id == "coordinator"]
    assert 3 <= len(to_coordinator) <= 4  # one a second, not one per alert
    assert all(m.text.count("ALERT #") == 10 and len(m.buttons) == 10 for m in to_coordinator)
    reminders = [t for t, m in recorder.sent if m.chat_id.startswith("hrd")]
    assert len(reminders) == 60 and max(reminders) < 3.4  # ~30 a second, not behind the backlog
    with Session(chat.core.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "coordinator",
                                                        OutboxMessage.delivered_at.is_not(None))).all()  # type: ignore[union-attr]
    assert len(rows) == 10 * len(to_coordinator)


async def test_a_rate_limit_is_not_a_failed_attempt(chat: Chat) -> None:
    """Five 429s in a row for the partner's alert: no failover, no early escalation."""
    await trio(chat)
    chat.transport.failures["paul"] = DeliveryError("429 Too Many Requests", retry_after=5)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    for _ in range(5):
        chat.clock.advance(timedelta(seconds=6))
        await chat.runtime.drain()
    chat.expect_nothing("cora")  # not woken early
    with Session(chat.core.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "alert")).one()
        assert row.failed_at is None and row.attempts == 0
        assert session.exec(select(Alert)).one().step == 0
    del chat.transport.failures["paul"]
    chat.clock.advance(timedelta(seconds=6))
    await chat.runtime.drain()
    chat.expect("paul", r"ALERT #1: Amina missed")


async def test_a_bot_wide_rate_limit_pauses_every_chat(chat: Chat) -> None:
    recorder = Recorder()
    dispatcher = chat.runtime.add_transport(recorder, Pacing(per_second=30, per_chat_interval=1.0))
    calls = 0
    original = recorder.deliver

    async def limited(message: Outgoing) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DeliveryError("429 Too Many Requests", retry_after=1.0)  # a chat we had left alone
        return await original(message)

    recorder.deliver = limited  # type: ignore[method-assign]
    for n in range(5):
        queue(chat, "rec", f"chat{n}", "hello", Priority.REPLY, "reply")
    recorder.started = time.monotonic()
    await run_for(dispatcher, 1.8)
    first = min(t for t, _m in recorder.sent)
    assert first >= 0.9, f"sent {first:.2f}s after a bot-wide 429 asking for 1s"
    assert len(recorder.sent) == 4  # the limited one waits its retry_after on the (fake) core clock


async def test_errors_fail_over_only_after_failover_after(chat: Chat) -> None:
    """A partner whose chat errors (5xx) for under two minutes keeps the alert; after two
    minutes the chain moves on to the coordinators (not after three attempts)."""
    await trio(chat)
    chat.transport.failures["paul"] = DeliveryError("502 Bad Gateway")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    for _ in range(5):
        chat.clock.advance(timedelta(seconds=20))
        await chat.runtime.drain()
    chat.expect_nothing("cora")
    chat.clock.advance(timedelta(seconds=30))
    await chat.runtime.drain()
    for _ in range(3):
        chat.clock.advance(timedelta(seconds=20))
        await chat.runtime.drain()
    chat.expect("cora", r"ALERT #1: Amina missed")
    with Session(chat.core.engine) as session:
        paul = session.exec(select(Identity).where(Identity.platform_user_id == "paul")).one()
        assert paul.unreachable_at is None  # errors, not a refusal: the identity stays


async def test_resends_after_transport_exceptions_are_capped(chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    await trio(chat)
    calls = 0
    original = chat.transport.deliver

    async def broken(message: Outgoing) -> str | None:
        nonlocal calls
        if message.chat_id == "cora":
            calls += 1
            raise ValueError("transport bug")
        return await original(message)

    chat.transport.deliver = broken  # type: ignore[method-assign]
    await chat.say("cora", "/help")
    for _ in range(40):
        chat.clock.advance(timedelta(minutes=10))
        await chat.runtime.drain()
    assert 2 <= calls <= 12
    with Session(chat.core.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "cora",
                                                       OutboxMessage.kind == "reply")
                           .order_by(OutboxMessage.id.desc())).first()  # type: ignore[union-attr]
        assert row is not None and row.failed_at is not None
    assert "gave up" in caplog.text


async def test_a_refused_deletion_is_recorded_as_failed(chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    await trio(chat)
    with chat.core.session() as session:
        chat.core.outbox.to_chat(session, platform="memory", chat_id="amina", text="17", now=chat.clock.now(),
                                 key="delete:memory:amina:17", priority=Priority.REMINDER, kind=DELETE_MESSAGE)
        session.commit()
    chat.transport.failures["amina"] = DeliveryError("400: message can't be deleted for everyone", permanent=True)
    caplog.set_level(logging.WARNING)
    await chat.runtime.drain()
    with Session(chat.core.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "delete:memory:amina:17")).one()
        assert row.failed_at is not None and row.delivered_at is None
        amina = session.exec(select(Identity).where(Identity.platform_user_id == "amina")).one()
        assert amina.unreachable_at is None  # a deletion refused is not a person unreachable
    assert "could not delete" in caplog.text
