"""Connecting to the Bot API in the background, and taking the application down again.

One attempt: getMe (the bot's name, ``t.me`` invite links), the default command menu, then
long polling — or PTB's webhook server when ``telegram.webhook_url`` is set. A failed attempt
is one log line without a traceback and is retried with the transports'
:class:`~c2p_bot.transports.backoff.Backoff`; a refused token is checked again only rarely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.error import InvalidToken, TelegramError

from c2p_bot.transports.backoff import Backoff
from c2p_bot.transports.telegram.menus import MenuRefresher
from c2p_bot.transports.telegram.plumbing import describe_error
from c2p_bot.transports.telegram.polling import Poller
from c2p_bot.transports.telegram.session import PLATFORM, STOP_STEP, Session, finish
from c2p_bot.transports.telegram.webhook import Webhook

log = logging.getLogger(__name__)

CONNECT_BACKOFF_FIRST, CONNECT_BACKOFF_MAX = 1.0, 60.0  # seconds between connection attempts
INVALID_TOKEN_RETRY = 900.0  # a refused token is checked again this rarely
# What a connection attempt is expected to fail with: the Bot API's answers and PTB's network
# errors (TelegramError), a socket error (OSError), a value PTB rejects (ValueError).
CONNECT_FAILURES = (TelegramError, OSError, ValueError)
# What taking down a half-started application can raise: a step over its bound, a Bot API
# error, PTB's "not running" (RuntimeError), a socket error.
STOP_FAILURES = (TimeoutError, TelegramError, RuntimeError, OSError)


def quiet_http_logging() -> None:
    """httpx logs every request URL at INFO, and the URL holds the bot token; PTB's DEBUG logs
    hold request parameters (message text). Keep both out of the logs whatever the level."""
    floors = (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO))
    for name, floor in floors:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)


class Connection:
    """Connects once per start, in a background task; receiving starts once connected."""

    def __init__(self, session: Session, menus: MenuRefresher, poller: Poller, webhook: Webhook) -> None:
        self.session = session
        self.menus = menus
        self.poller = poller
        self.webhook = webhook
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name="telegram-connect")

    async def stop(self) -> None:
        """Stop connecting (called once ``session.stopping`` is set)."""
        await finish(self._task)
        self._task = None

    async def _connect_loop(self) -> None:
        """Connect, retrying with backoff; each failure is one log line without a traceback."""
        backoff = Backoff(CONNECT_BACKOFF_FIRST, CONNECT_BACKOFF_MAX)
        while not self.session.stopped:
            try:
                await self._connect()
                return
            except InvalidToken:
                log.error("telegram: the Bot API refused the bot token; Telegram stays off (checking "
                          "again in %.0f minutes)", INVALID_TOKEN_RETRY / 60)
                wait = INVALID_TOKEN_RETRY
            except CONNECT_FAILURES as error:
                wait = self._failed(error, backoff)
            except Exception as error:  # the loop's top: a bug in one attempt must not keep
                # Telegram off for good; one line like any failure, the traceback at DEBUG
                wait = self._failed(error, backoff)
                log.debug("telegram: connection attempt failed", exc_info=True)
            await self.undo_partial_connect()
            if await self.session.sleep(wait):
                return

    def _failed(self, error: Exception, backoff: Backoff) -> float:
        wait = backoff.next()
        log.warning("telegram: cannot connect to the Bot API (%s); retrying in %.0fs",
                    describe_error(error, self.session.config.token), wait)
        return wait

    async def _connect(self) -> None:
        session = self.session
        app = session.app
        await app.initialize()  # getMe
        session.username = app.bot.username
        session.core.bot_names = {app.bot.username}
        session.core.invite_links[PLATFORM] = session.invite_link
        await self.menus.set_default_menu()
        await app.start()
        if session.config.webhook_url:
            await self.webhook.start(session.config.webhook_url)
            log.info("telegram: connected as @%s; receiving updates by webhook", session.username)
        else:
            with contextlib.suppress(TelegramError):  # none was set, or the next getUpdates says so
                await app.bot.delete_webhook(drop_pending_updates=False)
            self.poller.start()
            session.ready.set()
            log.info("telegram: connected as @%s; polling for updates", session.username)

    async def undo_partial_connect(self) -> None:
        """After a failed attempt, or on stop: stop what did start (the webhook server, the
        application), so that the next attempt starts cleanly."""
        app = self.session.app
        updater = app.updater
        with contextlib.suppress(*STOP_FAILURES):
            if updater is not None and updater.running:
                await asyncio.wait_for(updater.stop(), STOP_STEP)
        with contextlib.suppress(*STOP_FAILURES):
            if app.running:
                await asyncio.wait_for(app.stop(), STOP_STEP)

    async def shutdown(self) -> None:
        with contextlib.suppress(*STOP_FAILURES):
            await asyncio.wait_for(self.session.app.shutdown(), STOP_STEP)
