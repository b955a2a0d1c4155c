"""A run of check-ins in one transaction makes way for the sweeps and the dispatchers (issue 12):
SQLite has one writer, and its busy handler does not queue the others."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from c2p_bot.core.contention import WriterGate
from c2p_bot.core.events import Incoming
from tests.support import people
from tests.support.durations import MINUTE
from tests.support.transcript import Chat


def test_making_way_waits_for_the_other_work_and_no_longer_than_told() -> None:
    gate = WriterGate()
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=gate.running, args=(lambda: (started.set(), release.wait(5)),))
    worker.start()
    assert started.wait(2) and gate.busy
    began = time.monotonic()
    gate.make_way(0.05)  # still running: gives up after 50 ms
    assert 0.04 <= time.monotonic() - began < 1.0
    threading.Timer(0.05, release.set).start()
    began = time.monotonic()
    gate.make_way(5.0)  # returns as soon as the other work is done
    assert time.monotonic() - began < 2.0 and not gate.busy
    worker.join(2)


async def test_a_run_of_check_ins_ends_when_other_database_work_is_running(chat: Chat) -> None:
    await people.trio(chat)
    await people.hrd(chat, "bea")
    runs: list[int] = []
    path = chat.core.express
    assert path is not None
    run = path.run

    def counting(incomings: Any, now: Any) -> Any:
        done = run(incomings, now)
        runs.append(len(done))
        return done

    path.run = counting  # type: ignore[method-assign]

    def batch(tag: str) -> list[Incoming]:
        return [Incoming(platform="memory", sender_id=user, chat_id=user, text="/checkin", sent_at=chat.clock.now(),
                         event_id=f"{tag}-{user}", message_id=f"{tag}-{user}") for user in ("amina", "bea")]

    await asyncio.gather(*(chat.runtime.handle(one) for one in batch("free")))
    assert runs == [2]  # nothing else wants the database: one transaction
    chat.clock.advance(MINUTE)
    runs.clear()
    started, release = threading.Event(), threading.Event()
    sweep = threading.Thread(target=chat.core.gate.running, args=(lambda: (started.set(), release.wait(5)),))
    sweep.start()
    assert started.wait(2)
    threading.Timer(0.2, release.set).start()
    await asyncio.gather(*(chat.runtime.handle(one) for one in batch("busy")))
    sweep.join(2)
    assert runs == [1, 1]  # the run ended after one check-in and the next waited for the sweep
    await chat.runtime.drain()
    for user in ("amina", "bea"):
        chat.expect(user, r"^Checked in", skipping=True)
        chat.expect(user, r"^Checked in")
