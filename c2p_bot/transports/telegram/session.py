"""What every part of the Telegram transport shares: python-telegram-bot's ``Application``, the
bot's name, and the three moments the parts wait for (connected, caught up, stopping).

Waits go through :meth:`Session.sleep`, which a stop cuts short, so the transport always stops
within a few seconds whatever it is doing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ApplicationBuilder

from c2p_bot.core.events import DeliveryError
from c2p_bot.core.invites import normalise_code
from c2p_bot.transports.backoff import sleep_unless_stopped
from c2p_bot.transports.settings import TelegramConfig
from c2p_bot.transports.telegram.plumbing import ArrivalLog, ArrivalQueue

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
NOT_CONNECTED_WAIT = 1.0  # seconds deliver() waits for the connection before failing (transient)
STOP_STEP = 3.0  # bound on each step of stopping

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Session:
    """The application (no persistence, no JobQueue) and the state its users share."""

    def __init__(self, core: Core, config: TelegramConfig) -> None:
        if not config.token:
            raise ValueError("telegram.token is not set")
        self.core = core
        self.config = config
        self.arrivals = ArrivalLog(core.clock.now)
        builder = (ApplicationBuilder().token(config.token).job_queue(None)
                   .update_queue(ArrivalQueue(self.arrivals)))
        if config.base_url:
            builder = builder.base_url(config.base_url)
        self.app: AnyApplication = builder.build()
        self.username: str | None = None
        self.ready = asyncio.Event()  # connected: deliveries may go out
        self.stopping = asyncio.Event()  # stop() was called: every wait ends
        # Set once the updates that waited while the bot was down have been handled, so that
        # the sweeper does not raise an alert for a check-in still sitting in Telegram's queue.
        self.caught_up = asyncio.Event()

    @property
    def stopped(self) -> bool:
        return self.stopping.is_set()

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopping first; returns whether stopping."""
        return await sleep_unless_stopped(self.stopping, seconds)

    async def wait_ready(self) -> None:
        """Wait briefly for the connection (deliveries may begin first); while Telegram is not
        connected, fail fast with a transient error so the dispatcher retries later."""
        if self.ready.is_set():
            return
        if not self.stopped:
            waits = {asyncio.ensure_future(event.wait()) for event in (self.ready, self.stopping)}
            try:
                await asyncio.wait(waits, timeout=NOT_CONNECTED_WAIT, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        if not self.ready.is_set():
            raise DeliveryError("telegram: not connected")

    def invite_link(self, code: str) -> str:
        """The deep link that opens the bot and sends ``/start CODE``."""
        return f"https://t.me/{self.username}?start={normalise_code(code)}"


async def finish(task: asyncio.Task[None] | None, *, cancel: bool = True, timeout: float | None = None) -> None:
    """Wait for a background task to end (cancelling it first, or after ``timeout``). One that
    died of an exception is a bug: it is logged, and stopping goes on."""
    if task is None:
        return
    if cancel:
        task.cancel()
    done, _pending = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        log.error("telegram: %s had failed", task.get_name(), exc_info=task.exception())
