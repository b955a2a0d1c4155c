"""The Telegram transport: python-telegram-bot 22 turned into core events and back.

See the package docstring for the flow, and README.md beside this file for a diagram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import (
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from c2p_bot.config import Config, TelegramConfig
from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError, Incoming, Outgoing
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.invites import normalise_code
from c2p_bot.core.roles import Role
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.telegram.errors import is_gone_on_delete, retry_after_seconds, to_delivery_error
from c2p_bot.transports.telegram.formatting import build_keyboard, split_text
from c2p_bot.transports.telegram.menus import commands_for_role, stranger_commands

if TYPE_CHECKING:
    from c2p_bot.core.context import Context
    from storage.models import Person

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# Telegram's limits: about 30 messages a second per bot, about one a second per chat.
TELEGRAM_PACING = Pacing(per_second=30, per_chat_interval=1.0)
ALLOWED_UPDATES = ["message", "callback_query"]
SEEN_UPDATES = 4096  # update ids remembered to skip exact re-deliveries cheaply
READY_WAIT = 30.0  # seconds deliver() waits for start() before reporting a transient failure
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def quiet_http_logging() -> None:
    """httpx logs every request URL at INFO, and the URL holds the bot token; PTB's DEBUG logs
    hold request parameters (message text). Keep both out of the logs whatever the level."""
    floors = (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO))
    for name, floor in floors:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)


BACKLOG_BATCH = 100  # getUpdates' default limit: a shorter batch means the backlog is drained

class TelegramTransport:
    """Receives updates (long polling, or a webhook when configured) and delivers outbox rows.

    One instance is started once: ``await start()`` ... ``await stop()``.
    """

    platform = PLATFORM

    def __init__(self, runtime: Runtime, config: TelegramConfig) -> None:
        if not config.token:
            raise ValueError("telegram.token is not set")
        self.runtime = runtime
        self.core = runtime.core
        self.config = config
        builder = ApplicationBuilder().token(config.token).job_queue(None)
        if config.base_url:
            builder = builder.base_url(config.base_url)
        self.app: AnyApplication = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_ptb_update))
        self.username: str | None = None
        self._ready = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._offset: int | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._waiting_for_updates = False
        self._background: set[asyncio.Task[None]] = set()
        self._partial: dict[str, list[int]] = {}  # message ids already sent of a split message
        self._webhook_secret: str | None = None
        # Set once the updates that waited while the bot was down have been handled, so that
        # the sweeper does not raise an alert for a check-in still sitting in Telegram's queue.
        self.caught_up = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), publish the bot's name and invite links, set the default menu, and
        start receiving updates."""
        quiet_http_logging()
        await self._initialize()
        bot = self.app.bot
        self.username = bot.username
        self.core.bot_names = {bot.username}
        self.core.invite_links[PLATFORM] = self.invite_link
        await self._set_default_menu()
        await self.app.start()
        if self.config.webhook_url:
            self._webhook_secret = self.config.secret_token or secrets.token_urlsafe(32)
            updater = self.app.updater
            assert updater is not None
            await updater.start_webhook(
                listen=self.config.webhook_listen,
                port=self.config.webhook_port,
                url_path=urlsplit(self.config.webhook_url).path.lstrip("/"),
                webhook_url=self.config.webhook_url,
                secret_token=self._webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=5,
            )
            log.info("telegram: receiving updates by webhook as @%s", self.username)
        else:
            with contextlib.suppress(TelegramError):
                await bot.delete_webhook(drop_pending_updates=False)
            self._poll_task = asyncio.create_task(self._poll(), name="telegram-poll")
            log.info("telegram: polling for updates as @%s", self.username)
        self._ready.set()

    async def _initialize(self) -> None:
        """``Application.initialize`` (which calls getMe), retried while Telegram is unreachable."""
        delay = 1.0
        while True:
            try:
                await self.app.initialize()
                return
            except InvalidToken:
                raise
            except TelegramError as error:
                if self._stopping:
                    raise
                log.warning("telegram: cannot reach the Bot API (%s); retrying in %.0fs",
                            type(error).__name__, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), delay)
            delay = min(30.0, delay * 2)

    async def stop(self) -> None:
        """Stop receiving (finishing the update being handled), confirm what was handled, and
        shut the application down. Updates fetched but not handled are fetched again next time."""
        self._stopping = True
        self._stop_event.set()
        self._ready.clear()
        if self._poll_task is not None:
            if self._waiting_for_updates:
                self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None
            await self._confirm_handled()
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.app.running:
            await self.app.stop()  # handles updates a webhook already queued
        if self._background:
            await asyncio.wait(self._background, timeout=5.0)
            for task in list(self._background):
                task.cancel()
        with contextlib.suppress(TelegramError):
            await self.app.shutdown()

    async def _confirm_handled(self) -> None:
        if self._offset is None:
            return
        try:
            await self.app.bot.get_updates(offset=self._offset, timeout=timedelta(0), limit=1,
                                           allowed_updates=ALLOWED_UPDATES)
        except TelegramError as error:
            log.info("telegram: could not confirm handled updates (%s); they will be "
                     "de-duplicated when fetched again", type(error).__name__)

    async def _wait_ready(self) -> None:
        """Wait for :meth:`start` (deliveries may begin first); fail fast once stopping, so a
        message claimed at shutdown is retried soon rather than after its lease runs out."""
        if self._ready.is_set():
            return
        if not self._stopping:
            waits = {asyncio.ensure_future(event.wait()) for event in (self._ready, self._stop_event)}
            try:
                await asyncio.wait(waits, timeout=READY_WAIT, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        if not self._ready.is_set():
            raise DeliveryError("telegram: transport not running")

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait until the backlog of updates is handled (webhook mode: at once)."""
        if self.config.webhook_url:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.caught_up.wait(), timeout)
        return self.caught_up.is_set()

    def invite_link(self, code: str) -> str:
        """The deep link that opens the bot and sends ``/start CODE``."""
        return f"https://t.me/{self.username}?start={normalise_code(code)}"

    # -- receiving ---------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long polling that handles each update before confirming it (by the next offset)."""
        delay = 0.0
        while not self._stopping:
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), delay)
                if self._stopping:
                    return
            self._waiting_for_updates = True
            try:
                updates = await self.app.bot.get_updates(
                    offset=self._offset,
                    timeout=timedelta(seconds=self.config.poll_timeout if self.caught_up.is_set() else 0),
                    allowed_updates=ALLOWED_UPDATES,
                )
            except RetryAfter as error:
                delay = retry_after_seconds(error)
                continue
            except InvalidToken:
                log.error("telegram: the bot token was refused; retrying in a minute")
                delay = 60.0
                continue
            except Conflict:
                log.warning("telegram: another process is receiving this bot's updates")
                delay = min(30.0, max(1.0, delay * 2))
                continue
            except TelegramError as error:
                log.warning("telegram: getUpdates failed (%s)", type(error).__name__)
                delay = min(30.0, max(0.5, delay * 2))
                continue
            except Exception:
                log.exception("telegram: getUpdates failed")
                delay = min(30.0, max(0.5, delay * 2))
                continue
            finally:
                self._waiting_for_updates = False
            delay = 0.0
            for update in updates:
                if self._stopping:
                    return
                await self._on_update(update)
                self._offset = update.update_id + 1
            if len(updates) < BACKLOG_BATCH:
                self.caught_up.set()

    async def _on_ptb_update(self, update: object, context: object) -> None:
        """Webhook mode: PTB's update queue hands every update here."""
        if isinstance(update, Update):
            await self._on_update(update)

    def _first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)
        return True

    async def _on_update(self, update: Update) -> None:
        if not self._first_time(update.update_id):
            return
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
        except Exception:
            log.exception("telegram: could not handle update %s", update.update_id)

    async def _on_message(self, message: Message) -> None:
        chat, user = message.chat, message.from_user
        if user is not None and user.is_bot:
            return
        private = chat.type == ChatType.PRIVATE
        if not private and not self._addressed_in_group(message):
            return  # group chatter and service messages (members joining, ...) are not for us
        await self.runtime.handle(Incoming(
            platform=PLATFORM,
            sender_id=str(user.id if user is not None else chat.id),
            chat_id=str(chat.id),
            text=message.text or "",
            sent_at=message.date,  # when it was sent: a check-in counts then, not when read
            event_id=f"m:{chat.id}:{message.message_id}",
            message_id=str(message.message_id),
            is_private=private,
        ))

    def _addressed_in_group(self, message: Message) -> bool:
        """In groups only commands for this bot and replies to it count (what privacy mode lets
        through even when the bot is an admin and sees everything)."""
        if message.text and message.text.startswith("/"):
            _command, _at, name = message.text.split(maxsplit=1)[0].partition("@")
            return not name or name.lower() == (self.username or "").lower()
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == self.app.bot.id)

    async def _on_callback(self, query: CallbackQuery) -> None:
        try:
            await query.answer()  # stop the spinner, whatever happens next
        except TelegramError as error:
            log.info("telegram: could not answer a button press (%s)", type(error).__name__)
        if not query.data:
            return
        presser = query.from_user
        chat = query.message.chat if query.message is not None else None
        if chat is None or (chat.type == ChatType.PRIVATE and chat.id != presser.id):
            # A private chat belongs to its user: anyone else is answered in their own chat.
            chat_id, private = presser.id, True
        else:
            chat_id, private = chat.id, chat.type == ChatType.PRIVATE
        await self.runtime.handle(Incoming(
            platform=PLATFORM,
            sender_id=str(presser.id),
            chat_id=str(chat_id),
            text=query.data,
            sent_at=self.core.clock.now(),  # Telegram gives no time for a button press
            event_id=f"cb:{query.id}",
            is_button=True,
            is_private=private,
        ))

    # -- sending -----------------------------------------------------------------------

    async def deliver(self, message: Outgoing) -> str | None:
        """Send (or delete) one message; returns the Telegram message id(s), comma-separated
        when a long text went out in several parts."""
        await self._wait_ready()
        try:
            chat_id = int(message.chat_id)
        except ValueError:
            raise DeliveryError("telegram: not a Telegram chat id", permanent=True) from None
        if message.kind == DELETE_MESSAGE:
            await self._delete(chat_id, message.text)
            return None
        return await self._send(chat_id, message)

    async def _send(self, chat_id: int, message: Outgoing) -> str | None:
        chunks = split_text(message.text)
        markup = build_keyboard(message.buttons)
        if not chunks:
            if markup is None:
                return None
            chunks = ["…"]
        key = message.idempotency_key or f"outbox:{message.outbox_id}"
        sent = self._partial.pop(key, [])
        for index in range(len(sent), len(chunks)):
            last = index == len(chunks) - 1
            try:
                result = await self.app.bot.send_message(
                    chat_id,
                    chunks[index],
                    reply_markup=markup if last else None,
                    link_preview_options=NO_PREVIEW,
                    protect_content=message.sensitive,
                )
            except TelegramError as error:
                failure = to_delivery_error(error)
                if sent and not failure.permanent:
                    self._partial[key] = sent  # a retry sends only the missing parts
                raise failure from None
            sent.append(result.message_id)
        return ",".join(str(message_id) for message_id in sent)

    async def _delete(self, chat_id: int, ids: str) -> None:
        for raw in ids.split(","):
            if not raw.strip().isdigit():
                continue
            try:
                await self.app.bot.delete_message(chat_id, int(raw))
            except BadRequest as error:
                if not is_gone_on_delete(error):
                    raise to_delivery_error(error) from None
            except TelegramError as error:
                raise to_delivery_error(error) from None

    # -- command menus -----------------------------------------------------------------

    async def _set_default_menu(self) -> None:
        try:
            await self.app.bot.set_my_commands(stranger_commands(self.core.commands),
                                               scope=BotCommandScopeDefault())
        except TelegramError as error:
            log.warning("telegram: could not set the default command menu (%s)", type(error).__name__)

    async def refresh_menu(self, person_id: int) -> None:
        """Set the command menu of each of a person's Telegram chats to what their role may use."""
        for platform, user_id, chat_id in self.core.identities_of(person_id):
            if platform == PLATFORM:
                await self.refresh_chat_menu(user_id, chat_id)

    async def refresh_chat_menu(self, user_id: str, chat_id: str) -> None:
        """Registered and active: their role's commands; otherwise the default (stranger) menu."""
        try:
            await self._wait_ready()
        except DeliveryError:
            return
        scope = BotCommandScopeChat(int(chat_id))
        found = self.core.person_role(PLATFORM, user_id)
        for attempt in range(2):
            try:
                if found is None:
                    await self.app.bot.delete_my_commands(scope=scope)
                else:
                    _person_id, role, language = found
                    await self.app.bot.set_my_commands(
                        commands_for_role(self.core.commands, Role(role), language), scope=scope)
                return
            except RetryAfter as error:
                if attempt == 0:
                    await asyncio.sleep(retry_after_seconds(error))
            except TelegramError as error:
                log.warning("telegram: could not set a command menu (%s)", type(error).__name__)
                return

    # -- core hooks (called synchronously, inside the core's transaction) ----------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            log.warning("telegram: menu refresh skipped (no event loop)")
            return
        task = loop.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on_role_change(self, person_id: int) -> None:
        """Refresh the person's menus once the transaction has committed (the task runs later)."""
        self._spawn(self.refresh_menu(person_id))

    def on_forget(self, ctx: Context, person: Person) -> None:
        """Someone erased their data: back to the stranger menu in the chat they used."""
        if ctx.incoming.platform == PLATFORM and ctx.incoming.is_private:
            self._spawn(self.refresh_chat_menu(ctx.incoming.sender_id, ctx.incoming.chat_id))

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
    runtime: Runtime, config: TelegramConfig | Config, *, pacing: Pacing | None = None
) -> TelegramTransport:
    """Create the Telegram transport and wire it into the runtime (no network until ``start``).

    The caller then runs ``await transport.start()`` (with ``runtime.start()``) and, on the way
    out, ``await transport.stop()`` before ``runtime.stop()``.
    """
    telegram = config.telegram if isinstance(config, Config) else config
    transport = TelegramTransport(runtime, telegram)
    runtime.add_transport(transport, pacing or TELEGRAM_PACING, delete_after=telegram.delete_after)
    runtime.core.role_change_hooks.append(transport.on_role_change)
    runtime.core.registration_hooks.append(transport.on_registration)
    runtime.core.forget_hooks.append(transport.on_forget)
    return transport
