"""The alarm clock on the real clock: no wake-up is ever lost, whatever the overlap of deadlines,
sweeps and messages, and a sweep never holds the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select, update

from c2p_bot.config import Config
from c2p_bot.core.clock import SystemClock
from storage.engine import make_engine
from storage.models import Alert, CheckinClock, Person
from tests.support import people
from tests.support.transcript import Chat, memory_chat

HRDS = 5


@pytest.fixture
async def live(db_url: str, config: Config) -> AsyncIterator[Chat]:
    """A bot on the memory transport and the real clock (the alarm clock runs for real)."""
    engine = make_engine(db_url)
    chat = memory_chat(engine, config, SystemClock())
    runtime = chat.runtime
    await people.coordinator(chat)
    for index in range(HRDS):
        await people.hrd(chat, f"hrd{index}", alias=f"Hrd{index}")
    yield chat
    await runtime.stop()
    engine.dispose()


def _set_deadlines(chat: Chat, first_in: float, apart: float) -> list:  # type: ignore[type-arg]
    """Give the HRDs deadlines ``apart`` seconds apart, the first ``first_in`` seconds from now."""
    base = chat.clock.now() + timedelta(seconds=first_in)
    deadlines = []
    with Session(chat.core.engine) as session:
        hrds = session.exec(select(Person.id).where(Person.role == "hrd").order_by(col(Person.id))).all()
        for index, hrd_id in enumerate(hrds):
            moment = base + timedelta(seconds=apart * index)
            session.exec(update(CheckinClock).where(col(CheckinClock.person_id) == hrd_id)  # type: ignore[call-overload]
                         .values(alert_at=moment, remind_at=None, state="ok"))
            deadlines.append((hrd_id, moment))
        session.commit()
    return deadlines


async def _raised(chat: Chat, deadlines: list, within: float) -> dict[int, float]:  # type: ignore[type-arg]
    """Wait until every HRD has an alert (or ``within`` seconds); each alert's lateness."""
    give_up = time.monotonic() + within
    while True:
        with Session(chat.core.engine) as session:
            found = {a.hrd_id: a.raised_at for a in session.exec(select(Alert)).all()}
        if len(found) >= len(deadlines) or time.monotonic() > give_up:
            due = dict(deadlines)
            return {hrd: (raised.replace(tzinfo=None) - due[hrd].replace(tzinfo=None)).total_seconds()
                    for hrd, raised in found.items()}
        await asyncio.sleep(0.02)


async def test_deadlines_milliseconds_apart_are_all_raised_at_once(live: Chat) -> None:
    """Five deadlines 2 ms apart: each alert within half a second of its deadline, not at the
    next 30 s safety-net sweep (APScheduler refused to re-arm a job that was still running)."""
    deadlines = _set_deadlines(live, first_in=0.8, apart=0.002)
    await live.runtime.start()
    late = await _raised(live, deadlines, within=5.0)
    assert len(late) == HRDS, f"only {len(late)} of {HRDS} alerts within 5 s"
    assert min(late.values()) >= 0 and max(late.values()) < 0.5, late


async def test_a_message_during_a_sweep_loses_no_wake_up(live: Chat) -> None:
    """Messages handled while a sweep runs (each re-arms the alarm) never drop the wake-up of
    deadlines that fall due during that sweep."""
    sweeper = live.core.services["sweeper"]
    original = sweeper.sweep

    def slow_sweep() -> int:
        time.sleep(0.05)  # a sweep that takes a while (many alerts at once)
        return original()  # type: ignore[no-any-return]

    sweeper.sweep = slow_sweep
    deadlines = _set_deadlines(live, first_in=0.8, apart=0.03)
    await live.runtime.start()
    for _ in range(20):
        await live.say("cora", "/help")
        await asyncio.sleep(0.01)
    late = await _raised(live, deadlines, within=5.0)
    assert len(late) == HRDS, f"only {len(late)} of {HRDS} alerts within 5 s"
    assert max(late.values()) < 0.6, late


async def test_a_deadline_passing_between_the_sweep_and_the_next_read_is_not_put_off(live: Chat) -> None:
    """A deadline that falls due after a sweep looked and before the next deadline was read is
    swept at once: nothing was due when the sweep looked, so this is not a job that failed (for
    those the pass waits a second before it looks again)."""
    sweeper = live.core.services["sweeper"]
    original = sweeper.next_wakeup

    def slow_read() -> object:
        time.sleep(0.3)  # the read takes a while (a busy database); the deadlines pass meanwhile
        return original()

    sweeper.next_wakeup = slow_read
    deadlines = _set_deadlines(live, first_in=0.15, apart=0.002)
    await live.runtime.start()  # the first pass sweeps at once: nothing is due yet
    late = await _raised(live, deadlines, within=5.0)
    assert len(late) == HRDS, f"only {len(late)} of {HRDS} alerts within 5 s"
    assert max(late.values()) < 0.6, late


async def test_a_long_sweep_does_not_hold_the_event_loop(live: Chat) -> None:
    """A sweep that takes 300 ms runs off the event loop: a 5 ms ticker is never 50 ms late."""
    sweeper = live.core.services["sweeper"]
    original = sweeper.sweep

    def slow_sweep() -> int:
        time.sleep(0.3)
        return original()  # type: ignore[no-any-return]

    sweeper.sweep = slow_sweep
    deadlines = _set_deadlines(live, first_in=0.3, apart=0.001)
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            worst = max(worst, time.monotonic() - before - 0.005)

    ticking = asyncio.create_task(ticker())
    await live.runtime.start()
    late = await _raised(live, deadlines, within=5.0)
    ticking.cancel()
    assert len(late) == HRDS
    assert worst < 0.05, f"the event loop stalled {worst * 1000:.0f} ms"


async def test_a_check_in_arms_the_alarm_for_its_new_deadline_without_reading(live: Chat) -> None:
    """An express check-in only moves its own clock on: the alarm arms for the new deadline as it
    is (issue 12: no wake-up read after every check-in), and the deadline is still met."""
    with Session(live.core.engine) as session:
        hrd_id = session.exec(select(Person.id).where(Person.alias == "Hrd0")).one()
        session.exec(update(CheckinClock).where(col(CheckinClock.person_id) == hrd_id)  # type: ignore[call-overload]
                     .values(interval_s=1, grace_s=0))  # due a second after each check-in
        session.commit()
    sweeper = live.core.services["sweeper"]
    reads: list[float] = []
    original = sweeper.next_wakeup

    def counted() -> object:
        reads.append(time.monotonic())
        return original()

    await live.runtime.start()
    await asyncio.sleep(0.2)  # the start-up pass has read and armed
    sweeper.next_wakeup = counted
    checked_in = time.monotonic()
    await live.say("hrd0", "/checkin")
    live.expect("hrd0", r"^Checked in")
    late = await _raised(live, [(hrd_id, live.clock.now() + timedelta(seconds=1))], within=3.0)
    assert hrd_id in late, "the deadline the check-in set was missed"
    assert late[hrd_id] < 0.5, late
    assert not [at for at in reads if at - checked_in < 0.9], "the check-in made the alarm read the deadlines"
