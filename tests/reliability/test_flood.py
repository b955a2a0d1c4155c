"""Scenario 4 — flood: one chat sends 100 messages a second while another HRD's deadline passes.
Pass: that escalation is neither early (not raised or sent before its deadline) nor more than
10 s late; the flooder is throttled and told so once, yet every message it got through is
answered; a bystander writing once a second is answered within 2 s each time.
Real clock, real alarm clock (APScheduler), real throttle. Short run: 10 s; --full: 60 s."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import Kek
from c2p_bot.core.events import Incoming, Outgoing
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.service import TOO_FAST
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Alert, CheckinClock, OutboxMessage, Person
from tests.support import people
from tests.support.people import trio
from tests.support.report import figure
from tests.support.transcript import Chat


class TimedTransport(MemoryTransport):
    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, float] = {}
        self.arrivals: dict[str, list[float]] = {}
        self.alerts: list[float] = []  # when a message carrying an alert went out

    async def deliver(self, message: Outgoing) -> str | None:
        result = await super().deliver(message)
        self.times.setdefault(message.idempotency_key, time.monotonic())
        self.arrivals.setdefault(message.chat_id, []).append(time.monotonic())
        if "ALERT #" in message.text:
            self.alerts.append(time.monotonic())
        return result


def pending(engine: Engine) -> int:
    """Messages still waiting to be sent."""
    with Session(engine) as session:
        return len(session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.failed_at).is_(None))).all())


async def test_flood_does_not_delay_an_escalation(tmp_path: Path, full: bool) -> None:
    seconds = 60 if full else 10
    engine = make_engine(f"sqlite:///{tmp_path / 'flood.db'}")
    upgrade(engine)
    config = parse_config({"checkins": {"sweep_interval": "30s"}}, env={})
    runtime = build_runtime(config, engine, SystemClock(), Keyring(engine, Kek.generate()))
    transport = TimedTransport()
    runtime.add_transport(transport)
    chat = Chat(runtime, transport)
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    await trio(chat)
    await people.hrd(chat, "bibi", alias="Bibi")
    await people.hrd(chat, "chidi", alias="Chidi")  # an ordinary user writing during the flood
    runtime.throttle = Throttle()  # the production limits from here on
    deadline_in = seconds / 2
    with Session(engine) as session:
        amina_id = session.exec(select(Person.id).where(Person.alias == "Amina")).one()
        clock = session.get(CheckinClock, amina_id)
        assert clock is not None
        mono_now, wall_now = time.monotonic(), SystemClock().now()
        alert_at = wall_now + timedelta(seconds=deadline_in)
        deadline = mono_now + deadline_in  # the same instant, on the monotonic clock
        clock.alert_at = alert_at
        clock.remind_at = None
        session.add(clock)
        session.commit()
    before = {user: len(transport.inbox[user]) for user in ("bibi", "chidi")}
    await runtime.start()
    sent = 0
    asked: list[float] = []  # when Chidi asked for their status
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            for _ in range(10):
                sent += 1
                await runtime.handle(Incoming("memory", "bibi", "bibi", f"/status {sent}",
                                              event_id=f"flood-{sent}", sent_at=SystemClock().now()))
            if len(asked) < (time.monotonic() - start):  # once a second
                asked.append(time.monotonic())
                await runtime.handle(Incoming("memory", "chidi", "chidi", "/status", event_id=f"chidi-{len(asked)}",
                                              sent_at=SystemClock().now()))
            await asyncio.sleep(0.1)
        for _ in range(50):  # the alert, and every reply still queued
            if transport.alerts and not pending(engine):
                break
            await asyncio.sleep(0.2)
    finally:
        await runtime.stop()
    with Session(engine) as session:
        raised = session.exec(select(Alert).where(Alert.hrd_id == amina_id)).all()
    engine.dispose()
    alert_times = transport.alerts
    assert alert_times, "the escalation was never sent"
    late = min(alert_times) - deadline
    told = sum(1 for m in transport.inbox["bibi"] if m.text == TOO_FAST)
    accepted = sent - runtime.throttle.dropped
    answered = len(transport.inbox["bibi"]) - before["bibi"] - told
    chidi_replies = transport.arrivals.get("chidi", [])[-len(asked):] if asked else []
    chidi_waits = [reply - ask for ask, reply in zip(asked, chidi_replies, strict=False)]
    figure("flood", seconds=seconds, flood_messages=sent, dropped=runtime.throttle.dropped,
           escalation_late_s=f"{late:.3f}", flooder_told=told, flooder_accepted=accepted,
           flooder_answered=answered, bystander_asked=len(asked),
           bystander_answered=len(transport.inbox["chidi"]) - before["chidi"],
           bystander_worst_wait_s=f"{max(chidi_waits, default=0.0):.3f}")
    # Not early: no alert raised or sent before its deadline.
    assert [a.raised_at >= alert_at for a in raised] == [True], [(a.raised_at, alert_at) for a in raised]
    assert late >= -0.005, f"the alert went out {-late:.3f} s before the deadline"
    # Not (much) late.
    assert late <= 10
    # The flooder is throttled and told so once ...
    assert told == 1
    assert runtime.throttle.dropped > sent * 0.5
    # ... but what was accepted is answered, and everyone else is answered promptly.
    assert answered == accepted, f"{accepted} flood messages accepted, {answered} answered"
    assert len(transport.inbox["chidi"]) - before["chidi"] == len(asked), "a bystander's message went unanswered"
    assert max(chidi_waits) <= 2.0, f"a bystander waited {max(chidi_waits):.2f} s for an answer during the flood"
