"""Scenario 4 — flood: one chat sends 100 messages a second while another HRD's deadline passes.
Pass: that escalation is at most 10 s late; the flooder is throttled and told so once.
Real clock, real alarm clock (APScheduler), real throttle. Short run: 10 s; --full: 60 s."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

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
from storage.models import CheckinClock, Person
from tests.core.test_checkins import trio
from tests.reliability.report import figure
from tests.support import people
from tests.support.transcript import Chat


class TimedTransport(MemoryTransport):
    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, float] = {}

    async def deliver(self, message: Outgoing) -> str | None:
        result = await super().deliver(message)
        self.times.setdefault(message.idempotency_key, time.monotonic())
        return result


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
    runtime.throttle = Throttle()  # the production limits from here on
    deadline_in = seconds / 2
    with Session(engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        clock = session.get(CheckinClock, amina.id)
        assert clock is not None
        clock.alert_at = SystemClock().now() + timedelta(seconds=deadline_in)
        clock.remind_at = None
        session.add(clock)
        session.commit()
    await runtime.start()
    deadline = time.monotonic() + deadline_in
    sent = 0
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            for _ in range(10):
                sent += 1
                await runtime.handle(Incoming("memory", "bibi", "bibi", f"/status {sent}",
                                              event_id=f"flood-{sent}", sent_at=SystemClock().now()))
            await asyncio.sleep(0.1)
        for _ in range(50):
            if any(k.startswith("alert:") for k in transport.times):
                break
            await asyncio.sleep(0.2)
    finally:
        await runtime.stop()
        engine.dispose()
    alert_times = [t for k, t in transport.times.items() if k.startswith("alert:")]
    assert alert_times, "the escalation was never sent"
    late = min(alert_times) - deadline
    told = sum(1 for m in transport.inbox["bibi"] if m.text == TOO_FAST)
    figure("flood", seconds=seconds, flood_messages=sent, dropped=runtime.throttle.dropped,
           escalation_late_s=f"{late:.2f}", flooder_told=told)
    assert late <= 10
    assert told == 1
    assert runtime.throttle.dropped > sent * 0.5
