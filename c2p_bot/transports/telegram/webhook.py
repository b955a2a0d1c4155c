"""Receiving by webhook (when ``telegram.webhook_url`` is set): python-telegram-bot's webhook
server, checked with a ``secret_token`` (generated when not configured), puts each update in the
application's queue, stamped on arrival; the application hands it to :class:`UpdateHandler`.

Catching up: getWebhookInfo is polled until Telegram reports nothing pending, then a
:class:`DrainMarker` queued behind what was pushed comes out handled — only then is the
session ``caught_up``, within :data:`WEBHOOK_DRAIN_LIMIT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from c2p_bot.transports.telegram.plumbing import DrainMarker
from c2p_bot.transports.telegram.session import ALLOWED_UPDATES, Session, finish
from c2p_bot.transports.telegram.updates import UpdateHandler

log = logging.getLogger(__name__)

WEBHOOK_DRAIN_POLL = 0.25  # seconds between getWebhookInfo calls while catching up
WEBHOOK_DRAIN_LIMIT = 300.0  # give up waiting for the webhook backlog after this long


class Webhook:
    """Starts the webhook server and catches up with what waited at Telegram."""

    def __init__(self, session: Session, updates: UpdateHandler) -> None:
        self.session = session
        self.updates = updates
        self.secret: str | None = None
        self._catch_up_task: asyncio.Task[None] | None = None
        session.app.add_handler(TypeHandler(Update, self._on_update))
        session.app.add_handler(TypeHandler(DrainMarker, self._on_drain_marker))

    async def start(self, url: str) -> None:
        """Start PTB's webhook server for ``url`` (it also calls setWebhook), then catch up."""
        config = self.session.config
        updater = self.session.app.updater
        if updater is None:
            raise RuntimeError("telegram: the application was built without an updater")
        self.secret = config.secret_token or secrets.token_urlsafe(32)
        await updater.start_webhook(
            listen=config.webhook_listen,
            port=config.webhook_port,
            url_path=urlsplit(url).path.lstrip("/"),
            webhook_url=url,
            secret_token=self.secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        self.session.ready.set()
        if not self.session.caught_up.is_set():
            self._catch_up_task = asyncio.create_task(self._catch_up(), name="telegram-catch-up")

    async def stop(self) -> None:
        await finish(self._catch_up_task)
        self._catch_up_task = None

    async def _on_update(self, update: object, context: object) -> None:
        """PTB's update queue hands every update here (stamped on arrival)."""
        if isinstance(update, Update):
            await self.updates.handle(update, self.session.arrivals.take(update.update_id))

    async def _on_drain_marker(self, marker: object, context: object) -> None:
        if isinstance(marker, DrainMarker):
            marker.handled.set()

    async def _catch_up(self) -> None:
        """Poll getWebhookInfo until nothing is pending, then make sure what was pushed so far
        was handled (a marker queued behind it comes out handled), within a bound."""
        session = self.session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WEBHOOK_DRAIN_LIMIT
        while not session.stopped and loop.time() < deadline:
            try:
                info = await session.app.bot.get_webhook_info()
            except TelegramError as error:
                log.info("telegram: getWebhookInfo failed (%s)", type(error).__name__)
            else:
                if info.pending_update_count == 0 and await self._queue_drained():
                    session.caught_up.set()
                    return
            if await session.sleep(WEBHOOK_DRAIN_POLL):
                return
        if not session.stopped:
            log.warning("telegram: updates still pending after %.0fs of webhook delivery",
                        WEBHOOK_DRAIN_LIMIT)

    async def _queue_drained(self) -> bool:
        marker = DrainMarker()
        await self.session.app.update_queue.put(marker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(marker.handled.wait(), WEBHOOK_DRAIN_LIMIT)
        return marker.handled.is_set()
