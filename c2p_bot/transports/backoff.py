"""The one retry policy of the transports: exponential backoff with a cap, and a wait that a
stop request cuts short. Connecting, long polling and syncing all retry with it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``first``, ``first * factor``, … up to ``cap`` seconds; :meth:`reset` after a success."""

    first: float = 1.0
    cap: float = 60.0
    factor: float = 2.0
    _next: float = field(default=0.0, init=False)

    def next(self) -> float:
        """The delay before the next attempt (and the one after grows)."""
        delay = self._next or self.first
        self._next = min(self.cap, delay * self.factor)
        return min(delay, self.cap)

    def reset(self) -> None:
        self._next = 0.0

    @property
    def failing(self) -> bool:
        """Whether the last attempt failed (a delay was taken since the last reset)."""
        return self._next != 0.0


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop`` is set; returns whether the caller should stop."""
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
