"""Inbound flood control: a token bucket per sender, checked before any database work.

A sender over the limit is told once per episode that they are sending too fast; their
extra messages are dropped until the bucket refills. This keeps one flooding chat from
delaying everyone else's escalations.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class Throttle:
    """``allow(key)`` → (allowed, warn_now)."""

    def __init__(self, rate: float = 1.0, burst: int = 20, max_senders: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_senders = max_senders
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.dropped = 0

    def allow(self, key: str, now: float | None = None) -> tuple[bool, bool]:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_senders:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst / 2:
                bucket.warned = False  # recovered: a later flood is a new episode
            return True, False
        self.dropped += 1
        warn = not bucket.warned
        bucket.warned = True
        return False, warn
