"""The Telegram transport: python-telegram-bot 22 turned into core events and back.

:class:`TelegramTransport` only puts the parts together and is what the runtime and the core
see; each concern lives in its own module (see the package docstring and README.md):

- ``session``: the application and the shared state (connected, caught up, stopping);
- ``connection``: connecting in the background with backoff, taking the application down;
- ``polling`` / ``webhook``: receiving updates, and catching up after downtime;
- ``updates``: an update into an ``Incoming`` for the core;
- ``sending``: ``deliver`` (sendMessage, deleteMessage); ``errors``: Bot API errors mapped;
- ``menus``: command menus; ``hooks``: the core's hooks run after its transaction commits.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import Outgoing
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.roles import Role
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.redaction import install_library_log_redaction
from c2p_bot.transports.settings import TelegramConfig
from c2p_bot.transports.telegram.connection import Connection, quiet_http_logging
from c2p_bot.transports.telegram.hooks import AfterCommit
from c2p_bot.transports.telegram.menus import MenuRefresher
from c2p_bot.transports.telegram.polling import Poller
from c2p_bot.transports.telegram.sending import Sender
from c2p_bot.transports.telegram.session import PLATFORM, Session
from c2p_bot.transports.telegram.updates import UpdateHandler
from c2p_bot.transports.telegram.webhook import Webhook

if TYPE_CHECKING:
    from c2p_bot.core.context import Context
    from storage.models import Person

log = logging.getLogger(__name__)

# Telegram's limits: about 30 messages a second per bot, about one a second per chat.
TELEGRAM_PACING = Pacing(per_second=30, per_chat_interval=1.0)
MAX_DELETE_AFTER = timedelta(hours=47)  # Telegram lets a bot delete a message for 48 h


class TelegramTransport:
    """Receives updates (long polling, or a webhook when configured) and delivers outbox rows.

    One instance is started once: ``await start()`` ... ``await stop()``. ``start()`` returns at
    once: connecting (getMe, the default menu, polling or the webhook) happens in the background
    and is retried with backoff, so an unreachable Bot API never holds up the rest of the bot.
    """

    platform = PLATFORM

    def __init__(self, runtime: Runtime, config: TelegramConfig, pacing: Pacing | None = None) -> None:
        self.session = Session(runtime.core, config)  # raises ValueError without a token
        install_library_log_redaction()
        self.runtime = runtime
        self.core = runtime.core
        self.config = config
        self.pacing = pacing or TELEGRAM_PACING
        updates = UpdateHandler(self.session, runtime)
        self._menus = MenuRefresher(self.session)
        self._poller = Poller(self.session, updates)
        self._webhook = Webhook(self.session, updates)
        self._connection = Connection(self.session, self._menus, self._poller, self._webhook)
        self._sender = Sender(self.session, self.pacing)
        self.after_commit = AfterCommit(self.session)
        # Set once the updates that waited while the bot was down have been handled (the
        # command line holds back alerts for this platform's HRDs until then).
        self.caught_up = self.session.caught_up

    @property
    def username(self) -> str | None:
        return self.session.username

    @username.setter
    def username(self, value: str | None) -> None:
        self.session.username = value

    @property
    def connected(self) -> bool:
        return self.session.ready.is_set()

    def invite_link(self, code: str) -> str:
        """The deep link that opens the bot and sends ``/start CODE``."""
        return self.session.invite_link(code)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background and return at once (see the class docstring)."""
        quiet_http_logging()
        self.after_commit.loop = asyncio.get_running_loop()
        self.session.stopping.clear()
        self._connection.start()

    async def stop(self) -> None:
        """Stop receiving (finishing the update being handled), confirm what was handled, and
        shut the application down, in a few seconds whatever the state (connecting, backing
        off, polling). Updates fetched but not handled are fetched again next time."""
        self.session.stopping.set()
        self.session.ready.clear()
        await self._connection.stop()
        await self._webhook.stop()
        await self._poller.stop()
        await self._connection.undo_partial_connect()  # the webhook server; updates it queued
        await self.after_commit.finish()
        await self._connection.shutdown()

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait until the updates that waited while the bot was down are handled (polling: a
        short batch was handled; webhook: Telegram reports none pending and those it pushed
        were handled)."""
        try:
            await asyncio.wait_for(self.caught_up.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- sending -----------------------------------------------------------------------

    async def deliver(self, message: Outgoing) -> str | None:
        """Send (or delete) one message; returns the Telegram message id(s), comma-separated
        when a long text went out in several parts."""
        return await self._sender.deliver(message)

    # -- core hooks (called synchronously, inside the core's transaction) ----------------

    def on_role_change(self, person_id: int) -> None:
        """Refresh the person's menus once the transaction has committed (the task runs later)."""
        self.after_commit.spawn(self._menus.refresh_menu(person_id))

    def on_forget(self, ctx: Context, person: Person) -> None:
        """Someone erased their data: back to the stranger menu in the chat they used."""
        if ctx.incoming.platform == PLATFORM and ctx.incoming.is_private:
            self.after_commit.spawn(self._menus.refresh_chat_menu(ctx.incoming.sender_id, ctx.incoming.chat_id))

    def on_registration(self, ctx: Context, person: Person) -> None:
        """An HRD joining on Telegram is told, once, that Telegram can read these chats."""
        if ctx.incoming.platform != PLATFORM or person.role != Role.HRD.value:
            return
        _ = gettext_for(person.ui_language)
        ctx.reply(_(
            "Please note: Telegram chats are not end-to-end encrypted, so Telegram can read "
            "what you write here. If you are at high risk, use this bot on Matrix instead, "
            "where chats are end-to-end encrypted."
        ))


def attach_telegram(
    runtime: Runtime, telegram: TelegramConfig, *, pacing: Pacing | None = None
) -> TelegramTransport:
    """Create the Telegram transport and wire it into the runtime (no network until ``start``).

    ``delete_after`` is clamped to :data:`MAX_DELETE_AFTER` so that note-carrying messages are
    deleted well inside the 48 hours in which Telegram lets a bot delete them.

    The caller then runs ``await transport.start()`` (with ``runtime.start()``) and, on the way
    out, ``await transport.stop()`` before ``runtime.stop()``.
    """
    transport = TelegramTransport(runtime, telegram, pacing)
    delete_after = telegram.delete_after
    if delete_after is not None and delete_after > MAX_DELETE_AFTER:
        log.warning("telegram: delete_after %s is beyond what Telegram allows; messages will be "
                    "deleted after %s instead", delete_after, MAX_DELETE_AFTER)
        delete_after = MAX_DELETE_AFTER
    runtime.add_transport(transport, transport.pacing, delete_after=delete_after)
    runtime.after_handle.append(transport.after_commit.start_due)
    runtime.core.role_change_hooks.append(transport.on_role_change)
    runtime.core.registration_hooks.append(transport.on_registration)
    runtime.core.forget_hooks.append(transport.on_forget)
    return transport
