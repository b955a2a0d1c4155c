"""Watching the watchman: the running bot pings ``[monitoring] heartbeat_url`` every
``heartbeat_every`` only while its sweeper works and its outbox moves, so an outside monitor
(healthchecks.io and the like) notices a dead or stalled bot."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from c2p_bot.core.events import Incoming
from c2p_bot.ops.watchman import Watchman
from tests.ops.receivers import HeartbeatReceiver, live_bot, live_config
from tests.support.transcript import Chat

PERIOD = 0.4  # seconds between heartbeats
STALE = timedelta(milliseconds=300)  # the sweeper counts as stalled after this long without a sweep


async def _wait_for_pings(receiver: HeartbeatReceiver, after: float, count: int, within: float) -> list[float]:
    give_up = time.monotonic() + within
    while len(receiver.since(after)) < count and time.monotonic() < give_up:
        await asyncio.sleep(0.02)
    return receiver.since(after)


def _stall(chat: Chat, how: str) -> Callable[[], None]:
    """Stall the sweeper for real; returns what undoes it."""
    sweeper = chat.core.services["sweeper"]
    if how == "clock thread blocked":
        release = threading.Event()
        original = sweeper.sweep

        def blocked() -> int:
            release.wait(30)  # the clock thread hangs here (a lock held forever, a dead disk)
            return original()  # type: ignore[no-any-return]

        sweeper.sweep = blocked
        return lambda: (setattr(sweeper, "sweep", original), release.set())  # type: ignore[func-returntype]
    jobs = ("_deadlines", "_steps", "_reminders", "_pauses")

    def failing(now: object) -> int:
        raise RuntimeError("database is locked")

    extra = list(sweeper.extra_jobs)
    for name in jobs:
        setattr(sweeper, name, failing)
    sweeper.extra_jobs = [failing]

    def undo() -> None:
        for name in jobs:
            delattr(sweeper, name)
        sweeper.extra_jobs = extra

    return undo


@pytest.mark.parametrize("how", ["clock thread blocked", "every sweep fails"])
async def test_heartbeats_stop_within_two_periods_of_a_stalled_sweeper_and_resume(tmp_path: Path, how: str) -> None:
    receiver = HeartbeatReceiver()
    config = live_config(heartbeat_url=receiver.url, heartbeat_every=timedelta(seconds=PERIOD),
                         sweep_stale_after=STALE)
    try:
        async with live_bot(tmp_path, config) as chat:
            watchman = Watchman(chat.runtime, config.monitoring, env={})
            watchman.start()
            try:
                began = time.monotonic()
                healthy = await _wait_for_pings(receiver, began, 3, within=3 * PERIOD + 1)
                assert len(healthy) >= 3, f"{len(healthy)} heartbeats in {time.monotonic() - began:.1f}s"
                assert all(path.startswith("/ping/") for _at, path in receiver.pings)

                undo = _stall(chat, how)
                stalled = time.monotonic()
                await asyncio.sleep(4 * PERIOD)
                late = [at - stalled for at in receiver.since(stalled + 2 * PERIOD)]
                assert late == [], f"heartbeats {late} s after the sweeper stalled"

                undo()
                resumed = time.monotonic()
                back = await _wait_for_pings(receiver, resumed, 1, within=3 * PERIOD)
                assert back, "no heartbeat after the sweeper recovered"
                assert back[0] - resumed < 2 * PERIOD + 0.3
            finally:
                watchman.stop()
    finally:
        receiver.close()


async def test_no_heartbeat_while_a_due_message_is_stuck_in_the_outbox(tmp_path: Path) -> None:
    """The sender stopped (a wedged thread): the oldest due message ages past
    ``outbox_stuck_after`` and the heartbeats stop; once it is sent they come back."""
    receiver = HeartbeatReceiver()
    config = live_config(heartbeat_url=receiver.url, heartbeat_every=timedelta(seconds=PERIOD),
                         outbox_stuck_after=timedelta(milliseconds=300))
    try:
        async with live_bot(tmp_path, config) as chat:
            watchman = Watchman(chat.runtime, config.monitoring, env={})
            watchman.start()
            try:
                assert await _wait_for_pings(receiver, time.monotonic(), 2, within=3 * PERIOD + 1)
                dispatcher = chat.runtime.dispatchers["memory"]
                dispatcher.stop()  # nothing is sent any more
                await asyncio.sleep(0.1)
                await chat.runtime.handle(Incoming(platform="memory", sender_id="stranger", chat_id="stranger",
                                                   text="hello", sent_at=chat.clock.now(), event_id="e1"))
                stuck = time.monotonic()
                await asyncio.sleep(4 * PERIOD)
                late = [at - stuck for at in receiver.since(stuck + 0.3 + PERIOD + 0.2)]
                assert late == [], f"heartbeats {late} s after the outbox got stuck"
                assert chat.transport.inbox["stranger"] == []

                restarted = asyncio.create_task(dispatcher.run())
                back = await _wait_for_pings(receiver, time.monotonic(), 1, within=3 * PERIOD)
                assert chat.transport.inbox["stranger"], "the stuck reply was never sent"
                assert back, "no heartbeat once the outbox moved again"
                dispatcher.stop()
                await restarted
            finally:
                watchman.stop()
    finally:
        receiver.close()


async def test_no_heartbeat_url_no_requests(tmp_path: Path) -> None:
    """Without ``heartbeat_url`` the watchman pings nothing (and starts no thread for it)."""
    config = live_config()
    async with live_bot(tmp_path, config) as chat:
        watchman = Watchman(chat.runtime, config.monitoring, env={})
        watchman.start()
        try:
            assert not any(thread.name.startswith("c2p-heartbeat") for thread in threading.enumerate())
        finally:
            watchman.stop()
