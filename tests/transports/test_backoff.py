"""The transports' one retry policy."""

from __future__ import annotations

import asyncio
import time

from c2p_bot.transports.backoff import Backoff, sleep_unless_stopped


def test_delays_double_up_to_the_cap_and_reset_after_a_success() -> None:
    backoff = Backoff(first=0.5, cap=4.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.failing
    backoff.reset()
    assert not backoff.failing and backoff.next() == 0.5


async def test_a_stop_request_cuts_the_wait_short() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    assert await sleep_unless_stopped(stop, 30.0) is True
    assert time.monotonic() - started < 1.0
    assert await sleep_unless_stopped(asyncio.Event(), 0.01) is False
