"""Small pieces the Telegram transport wires into python-telegram-bot.

- :class:`ArrivalLog` / :class:`ArrivalQueue`: the moment each update reached the bot (the
  webhook request arrived, or getUpdates returned it), read from the core's clock at receipt.
  A button press carries no date of its own, and handling can lag behind receipt.
- :class:`DrainMarker`: queued behind the updates a webhook pushed; once the application has
  handled it, every update before it was handled (PTB handles the queue in order).
- :func:`describe_error`: one short, token-free description of any exception.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Update

REMEMBERED_ARRIVALS = 4096


class ArrivalLog:
    """Receipt times of updates not yet handled, by update id (bounded)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._times: OrderedDict[int, datetime] = OrderedDict()

    def stamp(self, update_id: int) -> datetime:
        """Record that ``update_id`` arrived now (the first arrival counts); returns the time."""
        if update_id not in self._times:
            self._times[update_id] = self._now()
            while len(self._times) > REMEMBERED_ARRIVALS:
                self._times.popitem(last=False)
        return self._times[update_id]

    def take(self, update_id: int) -> datetime | None:
        """The receipt time of ``update_id`` (forgotten afterwards), or None if unknown."""
        return self._times.pop(update_id, None)


class ArrivalQueue(asyncio.Queue[Any]):
    """PTB's update queue, stamping each update as the webhook server puts it in."""

    def __init__(self, arrivals: ArrivalLog) -> None:
        super().__init__()
        self.arrivals = arrivals

    def put_nowait(self, item: Any) -> None:
        if isinstance(item, Update):
            self.arrivals.stamp(item.update_id)
        super().put_nowait(item)


class DrainMarker:
    """Put in the update queue; set once handled."""

    def __init__(self) -> None:
        self.handled = asyncio.Event()


def describe_error(error: BaseException, token: str | None) -> str:
    """``Type: message`` (shortened) with the bot token, should it appear, replaced."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if token:
        text = text.replace(token, "<token>")
        secret = token.partition(":")[2]
        if secret:
            text = text.replace(secret, "<token>")
    text = text[:160]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
