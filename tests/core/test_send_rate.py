"""The overall send rate (c2p_bot.core.send_rate): as many sends as the limit allows under a
backlog, even when every wake-up is a little late, and never more than the limit in any second."""

from __future__ import annotations

import random

from c2p_bot.core.send_rate import RateWindow


def _run(window: RateWindow, seconds: float, late: float) -> list[float]:
    """A backlog: each send starts as soon as allowed, plus a wake-up up to ``late`` late."""
    rng, starts, at = random.Random(1), [], 0.0
    while at < seconds:
        starts.append(at)
        at = window.started(at) + rng.uniform(0.0, late)
    return starts


def _most_in_one_second(starts: list[float]) -> int:
    most, first = 0, 0
    for last, at in enumerate(starts):
        while starts[first] <= at - 1.0 + 1e-9:  # [a, a + 1 s): a send exactly 1 s later is the next second
            first += 1
        most = max(most, last - first + 1)
    return most


def test_late_wake_ups_do_not_lower_the_rate_nor_break_the_limit() -> None:
    starts = _run(RateWindow(30), seconds=20.0, late=0.002)  # every wake-up up to 2 ms late
    assert _most_in_one_second(starts) <= 30
    assert len(starts) >= 20 * 30  # a fixed 33 ms period after each start: about 580
    on_time = _run(RateWindow(30), seconds=20.0, late=0.0)
    assert _most_in_one_second(on_time) == 30 and len(on_time) == 20 * 30


def test_no_bursts_and_slow_rates_keep_their_period() -> None:
    starts = _run(RateWindow(30), seconds=5.0, late=0.02)
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.9 / 30 - 1e-9
    slow = RateWindow(0.5)  # one send every two seconds
    assert slow.started(10.0) == 12.0
    assert slow.started(13.0) == 15.0


def test_the_time_spent_choosing_counts_towards_the_gap_but_not_the_window() -> None:
    window = RateWindow(30)
    # Chosen at 0.0, started at 0.005 (5 ms picking): the next may be chosen 30 ms after 0.0.
    assert abs(window.started(0.005, chosen=0.0) - 0.9 / 30) < 1e-12
    starts = [0.005]
    for _ in range(29):
        chosen = window.started(starts[-1], chosen=starts[-1] - 0.005)
        starts.append(chosen + 0.005)
    # The 31st start waits a whole second after the first actual start.
    assert window.started(starts[-1], chosen=starts[-1] - 0.005) >= starts[0] + 1.0
