"""A coerced HRD's reply comes as fast as a free one's (issue 13, DESIGN invariant 4).

Two bots run for real (real clock, alarm clock and dispatchers started), on the same database
backend. On one the HRD checks in with their check-in PIN, on the other with their duress PIN;
the time from the message reaching the bot to the reply leaving it must match within 100 ms,
fresh and after a panic. Before the reply was queued first, the duress alerts (priority 0)
went out ahead of it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import pytest

from c2p_bot.config import Config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto.pins import PinHashParams
from c2p_bot.core.events import Incoming
from storage.engine import make_engine
from tests.support.people import CHECKIN_PIN, DURESS_PIN, HRD, pins, trio
from tests.support.transcript import Chat, memory_chat

ROUNDS = 7
TOLERANCE = 0.1
ROUND_TRIP = 0.08  # seconds per send, as on a real Matrix homeserver


async def _live(url: str, config: Config) -> Chat:
    chat = memory_chat(make_engine(url), config, SystemClock())
    # The PIN hash costs the same on both paths; a cheap one keeps its jitter out of the measure.
    chat.core.services["pin_params"] = PinHashParams(opslimit=1, memlimit=8192)
    transport = chat.transport
    deliver = transport.deliver

    async def round_trip(message):  # type: ignore[no-untyped-def]
        await asyncio.sleep(ROUND_TRIP)  # a send takes as long as a homeserver's answer
        return await deliver(message)

    transport.deliver = round_trip  # type: ignore[method-assign]
    await trio(chat)
    await pins(chat, HRD)
    return chat


@pytest.fixture
async def bots(db_url: str, second_url: str, config: Config) -> AsyncIterator[tuple[Chat, Chat]]:  # noqa: F811
    free, coerced = await _live(db_url, config), await _live(second_url, config)
    for chat in (free, coerced):
        await chat.runtime.start()
    yield free, coerced
    for chat in (free, coerced):
        await chat.runtime.stop()
        chat.core.engine.dispose()


async def _reply_time(chat: Chat, text: str, serial: int) -> float:
    """Seconds from the message reaching the bot to the first reply in the HRD's chat."""
    before = len(chat.transport.inbox[HRD])
    started = time.monotonic()
    await chat.runtime.handle(Incoming(platform="memory", sender_id=HRD, chat_id=HRD, text=text,
                                       sent_at=chat.clock.now(), event_id=f"t{serial}", message_id=f"m{serial}"))
    while len(chat.transport.inbox[HRD]) == before:
        assert time.monotonic() - started < 10, "no reply within 10 s"
        await asyncio.sleep(0.002)
    return time.monotonic() - started


async def _compare(free: Chat, coerced: Chat, serial: int) -> tuple[float, float]:
    free_times, coerced_times = [], []
    for n in range(ROUNDS):
        free_times.append(await _reply_time(free, f"/checkin {CHECKIN_PIN} fine", serial + n))
        coerced_times.append(await _reply_time(coerced, f"/checkin {DURESS_PIN} fine", serial + n))
        await asyncio.sleep(0.05)
    return statistics.median(free_times), statistics.median(coerced_times)


async def test_a_duress_reply_is_as_fast_as_a_free_one(bots: tuple[Chat, Chat]) -> None:
    free, coerced = bots
    fresh = await _compare(free, coerced, 100)
    assert abs(fresh[0] - fresh[1]) < TOLERANCE, f"free {fresh[0]:.3f}s, duress {fresh[1]:.3f}s"
    for chat in (free, coerced):
        await _reply_time(chat, "/panic they are outside", 200)
    await asyncio.sleep(0.5)
    after_panic = await _compare(free, coerced, 300)
    assert abs(after_panic[0] - after_panic[1]) < TOLERANCE, \
        f"after a panic: free {after_panic[0]:.3f}s, duress {after_panic[1]:.3f}s"
    assert [m for m in coerced.transport.inbox["paul"] if "DURESS" in m.text]  # the alarm did go out
