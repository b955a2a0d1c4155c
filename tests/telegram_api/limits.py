"""Telegram's flood limits, as the fake Bot API enforces them by default.

Telegram documents them loosely ("about one message per second in a chat, no more than 20
messages per minute in a group, about 30 messages per second overall") and answers a call over
a limit with HTTP 429 ``Too Many Requests: retry after N`` and ``parameters.retry_after``.
:class:`FloodControl` models that with sliding windows over the moments the server accepted a
message (the monotonic clock, so the server's date clock can be moved without touching them):

- **per chat**: at most ``limit`` messages in any ``window`` seconds (private chats 1 per 1 s,
  groups, supergroups and channels 20 per 60 s);
- **per bot**: at most 30 messages in any second over all chats. Exceeding it is a bot-wide
  flood wait: every chat is refused until it ends, as Telegram does;
- once refused, a chat (or the whole bot) stays refused for the ``retry_after`` it was told
  (whole seconds, at least 1), even when its window would let a message through earlier: a
  client that ignores ``retry_after`` keeps getting 429s;
- ``tolerance`` (50 ms) shortens each window a little: Telegram does not measure to the
  millisecond, and a client pacing exactly 1 s apart must not be refused because one request
  spent a few milliseconds longer on the wire than the one before.

Only calls that post a new message count (``sendMessage``; edits, deletions, menus, button
answers and ``getUpdates`` do not). A refused call is not counted as a message.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Bot API methods (lower-case) that post a new message and so count towards the limits.
COUNTED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendlocation",
        "sendcontact",
        "copymessage",
        "forwardmessage",
    }
)
BOT_WIDE = "bot"


@dataclass(frozen=True)
class RateLimits:
    """(messages, seconds) per private chat, per group chat and per bot."""

    per_private_chat: tuple[int, float] = (1, 1.0)
    per_group_chat: tuple[int, float] = (20, 60.0)
    per_bot: tuple[int, float] = (30, 1.0)
    tolerance: float = 0.05


TELEGRAM_LIMITS = RateLimits()


class FloodControl:
    """Decides whether a message may go out now; remembers the ones that did."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}
        self.refused: list[tuple[str, int]] = []  # (chat key or "bot", retry_after) of each 429

    def admit(self, chat_key: str, group: bool) -> tuple[int, str] | None:
        """Record a message to ``chat_key`` and return None, or return ``(retry_after, scope)``
        (scope ``"bot"`` or ``"chat"``) without recording it."""
        now = self.clock()
        chat_limit = self.limits.per_group_chat if group else self.limits.per_private_chat
        for key, limit, scope in ((BOT_WIDE, self.limits.per_bot, "bot"),
                                  (f"chat:{chat_key}", chat_limit, "chat")):
            wait = self._wait(key, limit, now)
            if wait is not None:
                retry_after = max(1, math.ceil(wait))
                self._banned_until[key] = max(self._banned_until.get(key, 0.0), now + retry_after)
                self.refused.append((BOT_WIDE if scope == "bot" else chat_key, retry_after))
                return retry_after, scope
        for key in (BOT_WIDE, f"chat:{chat_key}"):
            self._sent.setdefault(key, deque()).append(now)
        return None

    def _wait(self, key: str, limit: tuple[int, float], now: float) -> float | None:
        """Seconds until ``key`` may send again, or None when it may send now."""
        banned = self._banned_until.get(key, 0.0)
        if banned > now:
            return banned - now
        count, window = limit
        window = max(0.0, window - self.limits.tolerance)
        sent = self._sent.get(key)
        if sent is None:
            return None
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) < count:
            return None
        return sent[0] + window - now
