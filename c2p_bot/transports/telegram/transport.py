"""The Telegram transport: python-telegram-bot 22 turned into core events and back.

See the package docstring for the flow, and README.md beside this file for a diagram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import warnings
from collections import OrderedDict
from collections.abc import Coroutine
from datetime import datetime, timedelta
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
from c2p_bot.transports.redaction import install_library_log_redaction
from c2p_bot.transports.telegram.errors import (
    is_gone_on_delete,
    is_refused_delete,
    retry_after_seconds,
    to_delivery_error,
)
from c2p_bot.transports.telegram.formatting import build_keyboard, split_text
from c2p_bot.transports.telegram.menus import commands_for_role, stranger_commands
from c2p_bot.transports.telegram.plumbing import ArrivalLog, ArrivalQueue, DrainMarker, describe_error

if TYPE_CHECKING:
    from c2p_bot.core.context import Context
    from storage.models import Person

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# Telegram's limits: about 30 messages a second per bot, about one a second per chat.
TELEGRAM_PACING = Pacing(per_second=30, per_chat_interval=1.0)
ALLOWED_UPDATES = ["message", "callback_query"]
SEEN_UPDATES = 4096  # update ids remembered to skip exact re-deliveries cheaply
NOT_CONNECTED_WAIT = 1.0  # seconds deliver() waits for the connection before failing (transient)
CONNECT_BACKOFF_FIRST, CONNECT_BACKOFF_MAX = 1.0, 60.0  # seconds between connection attempts
INVALID_TOKEN_RETRY = 900.0  # a refused token is checked again this rarely
STOP_STEP = 3.0  # bound on each step of stop()
WEBHOOK_DRAIN_POLL = 0.25  # seconds between getWebhookInfo calls while catching up
WEBHOOK_DRAIN_LIMIT = 300.0  # give up waiting for the webhook backlog after this long
MENU_FALLBACK_DELAY = 1.0  # menus asked for outside a handled message start after this
MAX_DELETE_AFTER = timedelta(hours=47)  # Telegram lets a bot delete a message for 48 h
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

    One instance is started once: ``await start()`` ... ``await stop()``. ``start()`` returns at
    once: connecting (getMe, the default menu, polling or the webhook) happens in the background
    and is retried with backoff, so an unreachable Bot API never holds up the rest of the bot.
    """

    platform = PLATFORM

    def __init__(self, runtime: Runtime, config: TelegramConfig, pacing: Pacing | None = None) -> None:
        if not config.token:
            raise ValueError("telegram.token is not set")
        install_library_log_redaction()
        self.runtime = runtime
        self.core = runtime.core
        self.config = config
        self.pacing = pacing or TELEGRAM_PACING
        self._arrivals = ArrivalLog(self.core.clock.now)
        builder = (ApplicationBuilder().token(config.token).job_queue(None)
                   .update_queue(ArrivalQueue(self._arrivals)))
        if config.base_url:
            builder = builder.base_url(config.base_url)
        self.app: AnyApplication = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_ptb_update))
        self.app.add_handler(TypeHandler(DrainMarker, self._on_drain_marker))
        self.username: str | None = None
        self._ready = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._offset: int | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._catch_up_task: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._waiting_for_updates = False
        self._background: set[asyncio.Task[None]] = set()
        self._menus_due: list[Coroutine[Any, Any, None]] = []  # from the core thread
        self._menus_lock = threading.Lock()
        self._partial: dict[str, list[int]] = {}  # message ids already sent of a split message
        self._webhook_secret: str | None = None
        # Set once the updates that waited while the bot was down have been handled, so that
        # the sweeper does not raise an alert for a check-in still sitting in Telegram's queue.
        self.caught_up = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background and return at once (see the class docstring)."""
        quiet_http_logging()
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._stop_event.clear()
        self._connect_task = asyncio.create_task(self._connect_loop(), name="telegram-connect")

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def _connect_loop(self) -> None:
        """Connect, retrying with backoff; each failure is one log line without a traceback."""
        delay = CONNECT_BACKOFF_FIRST
        while not self._stopping:
            try:
                await self._connect()
                return
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("telegram: the Bot API refused the bot token; Telegram stays off (checking "
                          "again in %.0f minutes)", INVALID_TOKEN_RETRY / 60)
                wait = INVALID_TOKEN_RETRY
            except Exception as error:  # any failure (httpx, OSError, a bad base_url, ...)
                log.warning("telegram: cannot connect to the Bot API (%s); retrying in %.0fs",
                            describe_error(error, self.config.token), delay)
                wait, delay = delay, min(CONNECT_BACKOFF_MAX, delay * 2)
            await self._undo_partial_connect()
            if await self._sleep(wait):
                return

    async def _connect(self) -> None:
        await self.app.initialize()  # getMe
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
            )
            self._ready.set()
            if not self.caught_up.is_set():
                self._catch_up_task = asyncio.create_task(self._drain_webhook_backlog(),
                                                          name="telegram-catch-up")
            log.info("telegram: connected as @%s; receiving updates by webhook", self.username)
        else:
            with contextlib.suppress(TelegramError):
                await bot.delete_webhook(drop_pending_updates=False)
            self._poll_task = asyncio.create_task(self._poll(), name="telegram-poll")
            self._ready.set()
            log.info("telegram: connected as @%s; polling for updates", self.username)

    async def _undo_partial_connect(self) -> None:
        """After a failed attempt: stop what did start, so the next attempt starts cleanly."""
        updater = self.app.updater
        with contextlib.suppress(Exception):
            if updater is not None and updater.running:
                await asyncio.wait_for(updater.stop(), STOP_STEP)
        with contextlib.suppress(Exception):
            if self.app.running:
                await asyncio.wait_for(self.app.stop(), STOP_STEP)

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopping first; returns whether stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)
        return self._stopping

    async def stop(self) -> None:
        """Stop receiving (finishing the update being handled), confirm what was handled, and
        shut the application down, in a few seconds whatever the state (connecting, backing
        off, polling). Updates fetched but not handled are fetched again next time."""
        self._stopping = True
        self._stop_event.set()
        self._ready.clear()
        for task in (self._connect_task, self._catch_up_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._connect_task = self._catch_up_task = None
        if self._poll_task is not None:
            if self._waiting_for_updates:
                self._poll_task.cancel()
            done, _pending = await asyncio.wait({self._poll_task}, timeout=STOP_STEP)
            if not done:
                self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poll_task
            self._poll_task = None
            await self._confirm_handled()
        await self._undo_partial_connect()  # the webhook server; updates a webhook already queued
        if self._background:
            await asyncio.wait(self._background, timeout=STOP_STEP)
            for task in list(self._background):
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.app.shutdown(), STOP_STEP)

    async def _confirm_handled(self) -> None:
        if self._offset is None:
            return
        try:
            await asyncio.wait_for(self.app.bot.get_updates(
                offset=self._offset, timeout=timedelta(0), limit=1, allowed_updates=ALLOWED_UPDATES),
                STOP_STEP)
        except Exception as error:
            log.info("telegram: could not confirm handled updates (%s); they will be "
                     "de-duplicated when fetched again", type(error).__name__)

    async def _wait_ready(self) -> None:
        """Wait briefly for the connection (deliveries may begin first); while Telegram is not
        connected, fail fast with a transient error so the dispatcher retries later."""
        if self._ready.is_set():
            return
        if not self._stopping:
            waits = {asyncio.ensure_future(event.wait()) for event in (self._ready, self._stop_event)}
            try:
                await asyncio.wait(waits, timeout=NOT_CONNECTED_WAIT, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        if not self._ready.is_set():
            raise DeliveryError("telegram: not connected")

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait until the updates that waited while the bot was down are handled (polling: a
        short batch was handled; webhook: Telegram reports none pending and those it pushed
        were handled)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.caught_up.wait(), timeout)
        return self.caught_up.is_set()

    async def _drain_webhook_backlog(self) -> None:
        """Webhook mode: poll getWebhookInfo until nothing is pending, then make sure what was
        pushed so far was handled (a marker queued behind it comes out handled), within a bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WEBHOOK_DRAIN_LIMIT
        while not self._stopping and loop.time() < deadline:
            try:
                info = await self.app.bot.get_webhook_info()
            except Exception as error:
                log.info("telegram: getWebhookInfo failed (%s)", type(error).__name__)
            else:
                if info.pending_update_count == 0 and await self._queue_drained():
                    self.caught_up.set()
                    return
            if await self._sleep(WEBHOOK_DRAIN_POLL):
                return
        if not self._stopping:
            log.warning("telegram: updates still pending after %.0fs of webhook delivery",
                        WEBHOOK_DRAIN_LIMIT)

    async def _queue_drained(self) -> bool:
        marker = DrainMarker()
        await self.app.update_queue.put(marker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(marker.handled.wait(), WEBHOOK_DRAIN_LIMIT)
        return marker.handled.is_set()

    async def _on_drain_marker(self, marker: object, context: object) -> None:
        if isinstance(marker, DrainMarker):
            marker.handled.set()

    def invite_link(self, code: str) -> str:
        """The deep link that opens the bot and sends ``/start CODE``."""
        return f"https://t.me/{self.username}?start={normalise_code(code)}"

    # -- receiving ---------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long polling that handles each update before confirming it (by the next offset)."""
        delay = 0.0
        while not self._stopping:
            if delay and await self._sleep(delay):
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
            except Exception as error:  # an update PTB cannot read: read them one by one
                log.warning("telegram: could not read a batch of updates (%s)", type(error).__name__)
                delay = 0.0 if await self._poll_one_by_one() else min(30.0, max(0.5, delay * 2))
                continue
            finally:
                self._waiting_for_updates = False
            delay = 0.0
            received = self.core.clock.now()  # when they reached the bot, whatever handling takes
            for update in updates:
                if self._stopping:
                    return
                await self._on_update(update, received)
                self._offset = update.update_id + 1
            if len(updates) < BACKLOG_BATCH:
                self.caught_up.set()

    async def _poll_one_by_one(self) -> bool:
        """Fetch the batch raw and parse each update alone, skipping (one log line, no content)
        any that cannot be read, so that one bad update never blocks the others. Returns
        whether the batch was fetched."""
        try:
            with warnings.catch_warnings():  # PTB suggests get_updates, which is what failed
                warnings.simplefilter("ignore")
                raw = await self.app.bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": self._offset, "timeout": 0,
                                              "allowed_updates": ALLOWED_UPDATES})
        except Exception as error:
            log.warning("telegram: getUpdates failed (%s)", type(error).__name__)
            return False
        received = self.core.clock.now()
        for data in raw if isinstance(raw, list) else []:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int):
                continue
            try:
                update = Update.de_json(data, self.app.bot)
            except Exception as error:
                log.error("telegram: skipped update %s, which could not be read (%s)",
                          update_id, type(error).__name__)
            else:
                if update is not None:
                    await self._on_update(update, received)
            self._offset = update_id + 1
        return True

    async def _on_ptb_update(self, update: object, context: object) -> None:
        """Webhook mode: PTB's update queue hands every update here (stamped on arrival)."""
        if isinstance(update, Update):
            await self._on_update(update, self._arrivals.take(update.update_id))

    def _first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)
        return True

    async def _on_update(self, update: Update, received: datetime | None) -> None:
        if not self._first_time(update.update_id):
            return
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query, received or self.core.clock.now())
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

    async def _on_callback(self, query: CallbackQuery, received: datetime) -> None:
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
            sent_at=received,  # a press has no date of its own: when it reached the bot
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
        """Send the parts of a message. Parts after the first wait the per-chat interval, and
        so does the return after the last, so that the chat's next message (which the
        dispatcher paces from the start of this send) keeps Telegram's one a second."""
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
            if index > 0 and await self._sleep(self.pacing.per_chat_interval):
                self._partial[key] = sent
                raise DeliveryError("telegram: stopping in the middle of a long message")
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
        if len(chunks) > 1:
            await self._sleep(self.pacing.per_chat_interval)
        return ",".join(str(message_id) for message_id in sent)

    async def _delete(self, chat_id: int, ids: str) -> None:
        """Delete every part. Already gone counts as done; a refusal (past Telegram's 48 hours)
        is a permanent failure, raised once every part has been tried."""
        refused: DeliveryError | None = None
        for raw in ids.split(","):
            if not raw.strip().isdigit():
                continue
            try:
                await self.app.bot.delete_message(chat_id, int(raw))
            except BadRequest as error:
                if is_refused_delete(error):
                    refused = DeliveryError("telegram 400: message can no longer be deleted",
                                            permanent=True)
                elif not is_gone_on_delete(error):
                    raise to_delivery_error(error) from None
            except TelegramError as error:
                raise to_delivery_error(error) from None
        if refused is not None:
            raise refused

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
        """Run ``work`` on the event loop once the core's transaction has committed. On the
        loop's thread it starts at once (it runs after the synchronous core call returns); from
        the core's thread it waits for the runtime's ``after_handle`` (the transaction is
        committed by then), with a delayed fallback for hooks called outside a message."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (loop is None or running is loop):
            self._start_task(work)
            return
        if loop is None or loop.is_closed():
            work.close()
            log.warning("telegram: menu refresh skipped (transport not started)")
            return
        with self._menus_lock:
            self._menus_due.append(work)
        loop.call_soon_threadsafe(loop.call_later, MENU_FALLBACK_DELAY, self._start_due_menus)

    def _start_due_menus(self) -> None:
        with self._menus_lock:
            due, self._menus_due = self._menus_due, []
        for work in due:
            self._start_task(work)

    def _start_task(self, work: Coroutine[Any, Any, None]) -> None:
        if self._stopping:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
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

    ``delete_after`` is clamped to :data:`MAX_DELETE_AFTER` so that note-carrying messages are
    deleted well inside the 48 hours in which Telegram lets a bot delete them.

    The caller then runs ``await transport.start()`` (with ``runtime.start()``) and, on the way
    out, ``await transport.stop()`` before ``runtime.stop()``.
    """
    telegram = config.telegram if isinstance(config, Config) else config
    transport = TelegramTransport(runtime, telegram, pacing)
    delete_after = telegram.delete_after
    if delete_after is not None and delete_after > MAX_DELETE_AFTER:
        log.warning("telegram: delete_after %s is beyond what Telegram allows; messages will be "
                    "deleted after %s instead", delete_after, MAX_DELETE_AFTER)
        delete_after = MAX_DELETE_AFTER
    runtime.add_transport(transport, transport.pacing, delete_after=delete_after)
    runtime.after_handle.append(transport._start_due_menus)
    runtime.core.role_change_hooks.append(transport.on_role_change)
    runtime.core.registration_hooks.append(transport.on_registration)
    runtime.core.forget_hooks.append(transport.on_forget)
    return transport
