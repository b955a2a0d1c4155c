"""Making way for the other threads' database work (SQLite has one writer at a time).

The core's grouped check-ins (c2p_bot.core.checkin_express) hold the write lock for a whole run
of check-ins, and start the next run at once. SQLite's busy handler does not queue the writers
that wait: each sleeps (up to 100 ms) and tries again, so a sweep or a dispatcher that tries while
the lock is taken could keep missing the moments it is free. The clock thread's jobs (sweeps)
and the dispatchers' database work run through :meth:`WriterGate.running`; while any of them
runs, the core ends its run of check-ins at the next one and waits for them
(:meth:`WriterGate.make_way`) before it starts another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

POLL = 0.0005  # seconds between two looks while making way


class WriterGate:
    """How many database jobs other than the core's are running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    def running(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work`` (in the caller's thread), counted as other database work."""
        with self._lock:
            self._running += 1
        try:
            return work(*args)
        finally:
            with self._lock:
                self._running -= 1

    @property
    def busy(self) -> bool:
        return self._running > 0

    def make_way(self, longest: float) -> None:
        """Wait while other database work runs, ``longest`` seconds at most (the core thread)."""
        if not self._running:
            return
        give_up = time.monotonic() + longest
        while self._running and time.monotonic() < give_up:
            time.sleep(POLL)
