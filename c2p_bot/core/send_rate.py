"""The overall send rate as the platforms state it: at most N messages in any one second.

A dispatcher that spaces sends a fixed period apart (the next one period after the last) loses
whatever each late wake-up costs: the event loop's timers round up to the millisecond and share
the interpreter with the core, clock and sender threads, so about 1 ms of every 33 ms slot is
lost at 30/s — 29 messages a second instead of 30 under a backlog (benchmarks/delivery.py).
:class:`RateWindow` counts what the limit counts instead: at most ``per_second`` sends starting
in any one second (a sliding window over the start times of the last ones), and never two
closer than 0.9 of a period (no bursts). A send that starts a millisecond late lets a later one
start a millisecond sooner, and no second ever holds more than the limit.
"""

from __future__ import annotations

from collections import deque


class RateWindow:
    """When the next send may start, given when the last ones did (monotonic seconds)."""

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.count = max(1, int(per_second))  # sends allowed in any `window` seconds
        self.window = self.count / per_second  # one second for a whole rate (30/s: 30 in 1 s)
        self.gap = 0.9 / per_second  # the shortest time between two starts (no bursts)
        self._starts: deque[float] = deque(maxlen=self.count)

    def started(self, at: float, chosen: float | None = None) -> float:
        """A send started at ``at``, chosen from ``chosen`` on (when its slot opened and the
        choosing began; by default ``at``); returns the earliest moment the next one may start.
        The gap counts from ``chosen`` (the time spent choosing counts towards it), the window
        from the actual starts."""
        self._starts.append(at)
        following = (at if chosen is None else min(at, chosen)) + self.gap
        if len(self._starts) == self.count:  # the next one must be a window after the count-th last
            following = max(following, self._starts[0] + self.window)
        return following
