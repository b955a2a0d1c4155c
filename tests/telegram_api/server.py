"""A fake Telegram Bot API server for tests.

python-telegram-bot runs unmodified against it::

    async with FakeBotApi() as api:
        app = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        amina = api.user("amina")
        ...
        amina.send_text("/start CODE")
        reply = await api.wait_for_message(amina, r"Welcome")
        amina.press(reply, "yes")

It speaks the real wire format (``/bot<token>/<method>``, form/multipart/JSON bodies, the
``{"ok": ..., "result"/"error_code"/"description"/"parameters"}`` envelope) and reproduces
Telegram's observable behaviour where bots commonly get it wrong: update confirmation by
``offset``, long polling, 409 while a webhook is set or when a second poller appears, message
ids per chat, parse_mode parsing (``can't parse entities``), ``message is not modified``,
``message to delete not found``, inline keyboards dropped by ``editMessageText`` without
``reply_markup``, users who never started / blocked the bot, group privacy mode (always on).

Telegram's limits hold by default (see :mod:`tests.telegram_api.limits`): about one message
a second per private chat, 20 a minute per group, 30 a second per bot (exceeding that is a
bot-wide 429 for every chat), answered with ``429 Too Many Requests: retry after N`` and
``parameters.retry_after``. A test may relax them only by saying why:
``FakeBotApi(rate_limits=None, relaxed_because="...")``. ``deleteMessage`` on a message older
than 48 hours by the server's clock answers ``400 Bad Request: message can't be deleted for
everyone``; :meth:`FakeBotApi.advance_clock` and :meth:`FakeBotApi.age_message` age messages.
``getWebhookInfo`` reports ``pending_update_count`` (updates not yet accepted by the webhook,
which is pushed the queued updates one by one).

Everything listens on 127.0.0.1 only and all waiting is done with asyncio events, never by
sleeping in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, web

from tests.telegram_api.formatting import EntityParseError, format_text, utf16_len
from tests.telegram_api.limits import COUNTED_METHODS, TELEGRAM_LIMITS, FloodControl, RateLimits

__all__ = [
    "ApiError",
    "Button",
    "Call",
    "FakeBotApi",
    "FakeChat",
    "FakeUser",
    "Fault",
    "RecordedMessage",
]

DEFAULT_BOT_ID = 7000000001
BOT_USERNAME = "c2p_test_bot"
BOT_FIRST_NAME = "C2P Test Bot"
FIRST_UPDATE_ID = 500_000_001
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{35}$")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Update types Telegram sends when allowed_updates was never specified (or given as []).
ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

# Parameters whose form-encoded value is a plain string and must not be JSON-decoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "action",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "web_app",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SCOPE_TYPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}


class ApiError(Exception):
    """An error answer of the Bot API. Raised inside method handlers."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


DELETE_WINDOW = 48 * 3600  # seconds: a bot may delete a message for everyone this long


def _as_epoch(date: int | float | dtm.datetime | None, now: int) -> int:
    if date is None:
        return now
    if isinstance(date, dtm.datetime):
        return int(date.timestamp())
    return int(date)


def _stable_number(key: str, modulus: int) -> int:
    return zlib.crc32(key.encode()) % modulus


def _update_type(update: dict[str, Any]) -> str | None:
    return next((k for k in update if k != "update_id"), None)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Button:
    """One inline keyboard button of a recorded message."""

    text: str
    callback_data: str | None = None


@dataclass
class RecordedMessage:
    """A message in a fake chat, sent by the bot (``from_bot``) or injected for a user."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender_id: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None  # inline keyboard only, as on the wire
    keyboard: dict[str, Any] | None = None  # reply keyboard / remove / force_reply sent along
    parse_mode: str | None = None
    reply_to_message_id: int | None = None
    deleted: bool = False
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions
    extra: dict[str, Any] = field(default_factory=dict)  # other message fields (user side)
    params: dict[str, Any] = field(default_factory=dict)  # request params (bot side)
    wire: dict[str, Any] = field(default_factory=dict)  # the Message object as last served

    @property
    def buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [
                Button(text=b.get("text", ""), callback_data=b.get("callback_data"))
                for b in row
            ]
            for row in rows
        ]

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    @property
    def callback_data(self) -> list[str]:
        return [b.callback_data for row in self.buttons for b in row if b.callback_data]

    def button(self, *, text: str | None = None, data: str | None = None) -> Button:
        for row in self.buttons:
            for b in row:
                if (text is None or b.text == text) and (data is None or b.callback_data == data):
                    return b
        raise LookupError(
            f"message {self.message_id} in chat {self.chat_id} has no button "
            f"text={text!r} data={data!r}; buttons: {self.buttons!r}"
        )


@dataclass
class Call:
    """One HTTP request to the fake API, in arrival order."""

    method: str
    params: dict[str, Any]
    time: float  # wall clock, time.time()
    monotonic: float
    status: int | str | None = None  # HTTP status, or "timeout" for simulated timeouts
    ok: bool | None = None
    description: str | None = None
    result: Any = None
    fault: Fault | None = None
    finished_at: float | None = None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass
class Fault:
    """A scheduled failure. Create with :meth:`FakeBotApi.fail`."""

    method: str | None  # lower-case name; None = every method except getUpdates
    chat_id: int | str | None
    status: int | str
    retry_after: int | None
    times: int | None
    not_after: float | None
    delay: float
    process: bool
    hits: int = 0

    def active(self, now: float) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.not_after is None or now < self.not_after

    def matches(self, method: str, chat_id: Any) -> bool:
        lowered = method.lower()
        if self.method is None:
            if lowered == "getupdates":
                return False
        elif lowered != self.method:
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


@dataclass
class _Pending:
    update: dict[str, Any]
    forced: bool  # re-injected duplicate: survives confirmation until delivered once
    delivered: bool = False


# --------------------------------------------------------------------------------------------
# Users and chats
# --------------------------------------------------------------------------------------------


class FakeChat:
    """A chat known to the fake server. Private chats share their id with their user."""

    def __init__(
        self,
        api: FakeBotApi,
        chat_id: int,
        type_: str,
        *,
        title: str | None = None,
        user: FakeUser | None = None,
    ) -> None:
        self.api = api
        self.id = chat_id
        self.type = type_
        self.title = title
        self.user = user  # private chats only
        self.members: list[FakeUser] = []
        self.bot_status = "member"  # groups: member / administrator
        self.next_message_id = 1
        self.messages: dict[int, RecordedMessage] = {}

    def __repr__(self) -> str:
        return f"<FakeChat {self.type} {self.id} {self.title!r}>"

    def to_dict(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            return self.user.chat_dict()
        return {"id": self.id, "type": self.type, "title": self.title}

    def send_text(self, user: FakeUser, text: str, **kwargs: Any) -> dict[str, Any] | None:
        """``user`` writes ``text`` into this group. See :meth:`FakeUser.send_text`."""
        return user.send_text(text, chat=self, **kwargs)

    def add_member(self, user: FakeUser) -> None:
        if user not in self.members:
            self.members.append(user)


class FakeUser:
    """A Telegram user talking to the bot. Create with :meth:`FakeBotApi.user`."""

    def __init__(
        self,
        api: FakeBotApi,
        user_id: int,
        first_name: str,
        username: str,
        language_code: str = "en",
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self.started = False  # has written to the bot, so the bot may write back
        self.blocked = False  # user blocked the bot
        self.chat = FakeChat(api, user_id, "private", user=self)

    def __repr__(self) -> str:
        return f"<FakeUser {self.username or self.first_name} {self.id}>"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name,
                "username": self.username, "language_code": self.language_code}

    def chat_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name, "username": self.username}

    # -- actions ------------------------------------------------------------------------------

    def send_text(
        self,
        text: str,
        *,
        chat: FakeChat | None = None,
        date: int | float | dtm.datetime | None = None,
        reply_to: RecordedMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any] | None:
        """Inject a ``message`` update with ``text`` (``bot_command``/url/mention entities
        detected like Telegram does) and return it. Returns ``None`` when Telegram would not
        deliver it (group privacy mode)."""
        return self.api._user_message(
            self,
            chat or self.chat,
            text=text,
            date=date,
            reply_to=reply_to,
            entities=entities,
            extra=extra,
        )

    def send(self, *, chat: FakeChat | None = None, **message_fields: Any) -> dict[str, Any] | None:
        """Inject a ``message`` with arbitrary content fields (contact=..., location=...)."""
        date = message_fields.pop("date", None)
        reply_to = message_fields.pop("reply_to", None)
        return self.api._user_message(
            self,
            chat or self.chat,
            text=None,
            date=date,
            reply_to=reply_to,
            entities=None,
            extra=message_fields,
        )

    def press(
        self,
        message: RecordedMessage | int,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        chat: FakeChat | None = None,
    ) -> dict[str, Any]:
        """Press an inline button (by ``callback_data`` or button ``text``) on a message the
        bot sent; injects a ``callback_query`` update and returns it."""
        return self.api._press(self, message, callback_data, text, chat)

    def block(self) -> dict[str, Any]:
        """Block the bot: further sends fail with 403; injects ``my_chat_member`` (kicked)."""
        self.blocked = True
        return self.api._inject_my_chat_member(self.chat, self, "member", "kicked")

    # -- queries ------------------------------------------------------------------------------

    @property
    def messages(self) -> list[RecordedMessage]:
        return self.api.sent_to(self)

    async def wait_for_message(self, pattern: Any = None, timeout: float = 10.0) -> RecordedMessage:
        return await self.api.wait_for_message(self, pattern, timeout=timeout)


ChatRef = FakeUser | FakeChat | int | str


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """Fake Telegram Bot API server plus a control API for tests. See the module docstring."""

    def __init__(
        self,
        token: str | None = None,
        *,
        rate_limits: RateLimits | None = TELEGRAM_LIMITS,
        relaxed_because: str | None = None,
    ) -> None:
        if rate_limits != TELEGRAM_LIMITS and not relaxed_because:
            raise ValueError(
                "FakeBotApi enforces Telegram's limits; a test that relaxes them must say why "
                "(relaxed_because=...)"
            )
        self.rate_limits = rate_limits
        self.relaxed_because = relaxed_because
        self.flood = FloodControl(rate_limits) if rate_limits is not None else None
        self.clock_offset = 0.0  # seconds added to the wall clock: see advance_clock()
        self.token = token or f"{DEFAULT_BOT_ID}:AAFakeTelegramBotApiForTests_012345"
        if not _TOKEN_RE.match(self.token):
            raise ValueError("token must look like a real one: '<digits>:<35 chars>'")
        self.bot_id = int(self.token.split(":", 1)[0])
        self.bot_username = BOT_USERNAME

        self.calls: list[Call] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.dropped_updates: list[dict[str, Any]] = []  # filtered by allowed_updates/privacy
        self.webhook_deliveries: list[tuple[int, int | str]] = []  # (update_id, status)

        self._users: dict[str, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._commands: dict[tuple[Any, ...], list[dict[str, str]]] = {}
        self._pending: list[_Pending] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._max_update_id = FIRST_UPDATE_ID - 1
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._faults: list[Fault] = []
        self._open_queries: dict[str, tuple[int, int]] = {}
        self._consumed: set[tuple[int, int]] = set()
        self._webhook: dict[str, Any] = {"url": ""}
        self._webhook_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": self._m_get_me,
            "getupdates": self._m_get_updates,
            "sendmessage": self._m_send_message,
            "editmessagetext": self._m_edit_message_text,
            "editmessagereplymarkup": self._m_edit_message_reply_markup,
            "deletemessage": self._m_delete_message,
            "answercallbackquery": self._m_answer_callback_query,
            "setmycommands": self._m_set_my_commands,
            "getmycommands": self._m_get_my_commands,
            "deletemycommands": self._m_delete_my_commands,
            "setwebhook": self._m_set_webhook,
            "deletewebhook": self._m_delete_webhook,
            "getwebhookinfo": self._m_get_webhook_info,
            "getchat": self._m_get_chat,
            "sendchataction": self._m_send_chat_action,
        }

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FakeBotApi:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._stopping = True
        self._stop_event.set()
        self._notify()
        tasks = list(self._background)
        if self._webhook_task is not None:
            tasks.append(self._webhook_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the server's clock -------------------------------------------------------------------

    def _now(self) -> int:
        """The server's clock (Unix seconds): message dates, the 48 h deletion window."""
        return int(time.time() + self.clock_offset)

    def advance_clock(self, delta: dtm.timedelta | float) -> None:
        """Move the server's date clock forward (ages every message, e.g. past the 48 h in which
        a bot may delete one). Flood limits run on the monotonic clock and are not affected."""
        seconds = delta.total_seconds() if isinstance(delta, dtm.timedelta) else float(delta)
        self.clock_offset += seconds

    def age_message(self, message: RecordedMessage, delta: dtm.timedelta | float) -> None:
        """Make one message older (its date earlier) by ``delta``."""
        seconds = delta.total_seconds() if isinstance(delta, dtm.timedelta) else float(delta)
        message.date -= int(seconds)
        chat = self._chats.get(message.chat_id)
        if chat is not None:
            message.wire = self._message_wire(message, chat)

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``base_file_url(...)``; the fake serves no files (every download is a 404)."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    # -- users and chats ----------------------------------------------------------------------

    def user(self, name: str) -> FakeUser:
        """The user called ``name`` (created on first use; ids are stable across runs)."""
        if name in self._users:
            return self._users[name]
        user_id = 100_000_000 + _stable_number(f"user:{name}", 900_000_000)
        while user_id in self._chats:
            user_id += 1
        user = FakeUser(self, user_id, name.capitalize(), re.sub(r"\W", "_", name.lower()))
        self._users[name] = user
        self._chats[user_id] = user.chat
        return user

    def group(
        self,
        name: str,
        members: Iterable[FakeUser | str] = (),
        *,
        bot_is_admin: bool = False,
    ) -> FakeChat:
        """A supergroup the bot is a member of (admin if ``bot_is_admin``)."""
        for chat in self._chats.values():
            if chat.type != "private" and chat.title == name:
                for m in members:
                    chat.add_member(self.user(m) if isinstance(m, str) else m)
                return chat
        n = _stable_number(f"group:{name}", 1_000_000_000)
        chat_id = -(1_001_000_000_000 + n)
        while chat_id in self._chats:
            chat_id -= 1
        chat = FakeChat(self, chat_id, "supergroup", title=name)
        chat.bot_status = "administrator" if bot_is_admin else "member"
        for m in members:
            chat.add_member(self.user(m) if isinstance(m, str) else m)
        self._chats[chat_id] = chat
        return chat

    def chat(self, ref: ChatRef) -> FakeChat:
        """Resolve a FakeUser/FakeChat/id to the FakeChat (KeyError if unknown)."""
        if isinstance(ref, FakeUser):
            return ref.chat
        if isinstance(ref, FakeChat):
            return ref
        found = self._resolve_chat(ref)
        if found is None:
            raise KeyError(f"unknown chat {ref!r}")
        return found

    def _resolve_chat(self, ref: Any) -> FakeChat | None:
        if isinstance(ref, str):
            try:
                ref = int(ref)
            except ValueError:
                return None
        if isinstance(ref, bool) or not isinstance(ref, int):
            return None
        return self._chats.get(ref)

    # -- injecting updates --------------------------------------------------------------------

    def inject_raw(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update as-is. Without ``update_id`` the next id is assigned. An
        ``update_id`` that was already used is delivered AGAIN even though the bot confirmed
        it (simulates Telegram redelivering after a crash), so inject the same update twice to
        test de-duplication. Returns the queued update."""
        update = json.loads(json.dumps(update))  # deep copy, and proves it is JSON-clean
        forced = False
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        elif update["update_id"] <= self._max_update_id:
            forced = True
        else:
            self._next_update_id = update["update_id"] + 1
        self._max_update_id = max(self._max_update_id, update["update_id"])
        kind = _update_type(update)
        if kind not in self._allowed_updates:
            self.dropped_updates.append(update)
            return update
        self._pending.append(_Pending(update, forced))
        self._notify()
        return update

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return [p.update for p in self._pending]

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeChat,
        *,
        text: str | None,
        date: Any,
        reply_to: RecordedMessage | int | None,
        entities: list[dict[str, Any]] | None,
        extra: dict[str, Any],
    ) -> dict[str, Any] | None:
        if user.blocked and chat.type == "private":
            raise RuntimeError(f"{user!r} blocked the bot; call unblock() first")
        if chat.type != "private":
            chat.add_member(user)
        msg = RecordedMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=_as_epoch(date, self._now()),
            from_bot=False,
            sender_id=user.id,
            extra=dict(extra),
        )
        chat.next_message_id += 1
        if text is not None:
            if entities is None:
                _, entities = format_text(text, None, None)
            msg.text = text
            msg.entities = list(entities)
        if reply_to is not None:
            msg.reply_to_message_id = (
                reply_to.message_id if isinstance(reply_to, RecordedMessage) else int(reply_to)
            )
        chat.messages[msg.message_id] = msg
        if chat.type == "private":
            user.started = True
        msg.wire = self._message_wire(msg, chat)
        update = {"update_id": self._next_update_id, "message": msg.wire}
        if chat.type != "private" and not self._group_delivers(chat, msg):
            self._next_update_id += 1
            self._max_update_id = update["update_id"]
            self.dropped_updates.append(update)
            self._notify()
            return None
        return self.inject_raw(update)

    def _group_delivers(self, chat: FakeChat, msg: RecordedMessage) -> bool:
        """Privacy mode: only commands meant for this bot and replies to it get through (an
        administrator bot sees everything)."""
        if chat.bot_status == "administrator":
            return True
        for ent in msg.entities:
            if ent["type"] == "bot_command" and ent["offset"] == 0 and msg.text:
                command = msg.text[: ent["length"]]
                _, _, target = command.partition("@")
                if not target or target.lower() == self.bot_username.lower():
                    return True
        if msg.reply_to_message_id is not None:
            original = chat.messages.get(msg.reply_to_message_id)
            if original is not None and original.from_bot:
                return True
        return False

    def _press(
        self,
        user: FakeUser,
        message: RecordedMessage | int,
        callback_data: str | None,
        text: str | None,
        chat: FakeChat | None,
    ) -> dict[str, Any]:
        if isinstance(message, RecordedMessage):
            chat = self._chats[message.chat_id]
            message_id = message.message_id
        else:
            chat = chat or user.chat
            message_id = int(message)
        current = chat.messages.get(message_id)
        if current is None or current.deleted:
            raise LookupError(f"message {message_id} does not exist (or was deleted) in {chat!r}")
        if not current.from_bot:
            raise LookupError(f"message {message_id} was not sent by the bot")
        if callback_data is None and text is None:
            raise ValueError("press() needs callback_data or text")
        button = current.button(text=text, data=callback_data)
        if button.callback_data is None:
            raise LookupError(f"button {button.text!r} has no callback_data (url button?)")
        query_id = str(4_000_000_000_000_000_000 + self._next_update_id)
        self._open_queries[query_id] = (chat.id, message_id)
        current.wire = self._message_wire(current, chat)
        return self.inject_raw(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "message": current.wire,
                    "chat_instance": str(_stable_number(f"ci:{chat.id}", 10**18)),
                    "data": button.callback_data,
                }
            }
        )

    def _inject_my_chat_member(
        self, chat: FakeChat, actor: FakeUser, old: str, new: str
    ) -> dict[str, Any]:
        bot = self.bot_user

        def member(status: str) -> dict[str, Any]:
            out: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                out["until_date"] = 0
            return out

        return self.inject_raw(
            {
                "my_chat_member": {
                    "chat": chat.to_dict(),
                    "from": actor.to_dict(),
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # -- queries ------------------------------------------------------------------------------

    def sent_to(self, chat: ChatRef) -> list[RecordedMessage]:
        """Messages the bot sent into ``chat`` (including deleted ones, see ``.deleted``)."""
        return [m for m in self.chat(chat).messages.values() if m.from_bot]

    def last_sent(self, chat: ChatRef) -> RecordedMessage | None:
        sent = self.sent_to(chat)
        return sent[-1] if sent else None

    def keyboard_for(self, chat: ChatRef) -> dict[str, Any] | None:
        """The reply keyboard currently shown in ``chat`` (None after remove_keyboard)."""
        shown = None
        for msg in self.chat(chat).messages.values():
            if msg.from_bot and msg.keyboard is not None:
                shown = None if msg.keyboard.get("remove_keyboard") else msg.keyboard
        return shown

    def commands_for(self, scope: Any = None, language_code: str = "") -> list[dict[str, str]]:
        """Commands set for exactly this scope/language. ``scope``: None/"default", a scope
        type string, a scope dict or PTB ``BotCommandScope``, or a FakeUser/FakeChat/chat id
        (meaning ``BotCommandScopeChat``)."""
        if scope is None:
            scope = {"type": "default"}
        elif isinstance(scope, str):
            scope = {"type": scope}
        elif isinstance(scope, FakeUser | FakeChat | int):
            scope = {"type": "chat", "chat_id": self.chat(scope).id}
        elif hasattr(scope, "to_dict"):
            scope = scope.to_dict()
        return list(self._commands.get(self._scope_key(scope, language_code), []))

    def calls_for(self, method: str) -> list[Call]:
        lowered = method.lower()
        return [c for c in self.calls if c.method.lower() == lowered]

    @property
    def webhook(self) -> dict[str, Any]:
        """Current webhook settings (``{"url": ""}`` when none is set)."""
        return dict(self._webhook)

    # -- waiting ------------------------------------------------------------------------------

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every server state change);
        returns its value. Raises AssertionError on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_message(
        self, chat: ChatRef, pattern: Any = None, timeout: float = 10.0
    ) -> RecordedMessage:
        """Wait for a bot message in ``chat`` whose (current) text matches ``pattern``
        (regex string/compiled pattern searched, or a predicate on RecordedMessage; None =
        any) and that no earlier ``wait_for_message`` returned. Deleted messages count too
        (check ``.deleted``)."""
        target = self.chat(chat)
        if pattern is None:

            def matcher(_m: RecordedMessage) -> bool:
                return True
        elif callable(pattern) and not isinstance(pattern, re.Pattern):
            matcher = pattern
        else:
            regex = re.compile(pattern) if isinstance(pattern, str) else pattern

            def matcher(m: RecordedMessage) -> bool:
                return m.text is not None and regex.search(m.text) is not None

        def find() -> RecordedMessage | None:
            for msg in target.messages.values():
                key = (msg.chat_id, msg.message_id)
                if msg.from_bot and key not in self._consumed and matcher(msg):
                    self._consumed.add(key)
                    return msg
            return None

        try:
            return await self.wait_for(find, timeout, what=f"a message matching {pattern!r}")
        except AssertionError:
            sent = [(m.message_id, m.text, m.deleted) for m in self.sent_to(target)]
            raise AssertionError(
                f"no bot message matching {pattern!r} in {target!r} within {timeout}s; "
                f"bot sent: {sent!r}"
            ) from None

    async def wait_for_call(
        self, method: str, timeout: float = 10.0, *, count: int = 1, finished: bool = True
    ) -> Call:
        """Wait until ``method`` was called ``count`` times (and answered); returns the last."""

        def find() -> Call | None:
            calls = [c for c in self.calls_for(method) if c.finished_at or not finished]
            return calls[count - 1] if len(calls) >= count else None

        return await self.wait_for(find, timeout, what=f"{count} call(s) to {method}")

    async def wait_until_fetched(self, update: dict[str, Any], timeout: float = 10.0) -> None:
        """Wait until ``update`` was handed to the bot (getUpdates answer or webhook POST)."""

        def fetched() -> bool:
            return not any(p.update is update and not p.delivered for p in self._pending)

        await self.wait_for(fetched, timeout, what=f"update {update.get('update_id')} fetched")

    # -- fault injection ----------------------------------------------------------------------

    def fail(
        self,
        method: str | None = None,
        chat_id: ChatRef | None = None,
        status: int | str = 500,
        retry_after: int | None = None,
        times: int | None = 1,
        *,
        for_seconds: float | None = None,
        delay: float = 30.0,
        process: bool = True,
    ) -> Fault:
        """Make matching requests fail.

        ``method``: a name (case-insensitive); None = every method except getUpdates.
        ``chat_id``: only requests for this chat (FakeUser/FakeChat/id). ``status``: HTTP
        status (429 adds ``parameters.retry_after``, default 3) or ``"timeout"``: the answer
        is held back ``delay`` seconds (so the client times out) and, with ``process=True``,
        the request is still carried out, like a real request that timed out client-side.
        ``times``: number of failures (None = unlimited); ``for_seconds``: only this long from
        now. Failed attempts are recorded in :attr:`calls` with their ``fault``.
        """
        if chat_id is not None and not isinstance(chat_id, int | str):
            chat_id = self.chat(chat_id).id
        if status == 429 and retry_after is None:
            retry_after = 3
        now = time.monotonic()
        fault = Fault(
            method=None if method is None else method.lower(),
            chat_id=chat_id,
            status=status,
            retry_after=retry_after,
            times=times,
            not_after=None if for_seconds is None else now + for_seconds,
            delay=delay,
            process=process,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def _match_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        now = time.monotonic()
        for fault in self._faults:
            if fault.active(now) and fault.matches(method, params.get("chat_id")):
                fault.hits += 1
                return fault
        return None

    # -- HTTP plumbing ------------------------------------------------------------------------

    @staticmethod
    def _envelope(status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    def _error_response(self, err: ApiError) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": err.status,
            "description": err.description,
        }
        if err.parameters:
            body["parameters"] = err.parameters
        return self._envelope(err.status, body)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(await request.text() or "{}")
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad("JSON object expected")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raise _bad("the fake Bot API accepts no files")
                    raw[key] = value
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key not in _STRING_PARAMS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if not _TOKEN_RE.match(token):
            return self._error_response(ApiError(404, "Not Found"))
        if token != self.token:
            return self._error_response(ApiError(401, "Unauthorized"))
        call = Call(method=method, params={}, time=time.time(), monotonic=time.monotonic())
        self.calls.append(call)
        try:
            call.params = await self._read_params(request)
        except ApiError as err:
            return self._finish(call, err)
        handler = self._methods.get(method.lower())
        if handler is None:
            return self._finish(call, ApiError(404, "Not Found"))
        fault = self._match_fault(method, call.params)
        call.fault = fault
        if fault is not None:
            if fault.status == "timeout":
                task = asyncio.create_task(self._delayed(call, handler, fault))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                return await asyncio.shield(task)
            return self._finish(call, self._fault_error(fault))
        limited = self._flood_limited(method, call.params)
        if limited is not None:
            return self._finish(call, limited)
        return await self._run(call, handler)

    def _flood_limited(self, method: str, params: dict[str, Any]) -> ApiError | None:
        """429 when posting this message now would exceed Telegram's limits (see limits.py)."""
        if self.flood is None or method.lower() not in COUNTED_METHODS:
            return None
        ref = params.get("chat_id")
        chat = self._resolve_chat(ref)
        key = str(chat.id) if chat is not None else str(ref)
        group = chat is not None and chat.type != "private"
        refused = self.flood.admit(key, group)
        if refused is None:
            return None
        retry_after, _scope = refused
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    async def _run(self, call: Call, handler: Callable[[dict[str, Any]], Any]) -> web.Response:
        try:
            outcome = await handler(call.params)
        except ApiError as err:
            return self._finish(call, err)
        except asyncio.CancelledError:  # client went away (e.g. PTB stopped long polling)
            call.status = "cancelled"
            raise
        return self._finish(call, outcome)

    async def _delayed(
        self, call: Call, handler: Callable[[dict[str, Any]], Any], fault: Fault
    ) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), fault.delay)
        if fault.process and not self._stopping:
            response = await self._run(call, handler)
        else:
            response = self._finish(call, ApiError(504, "Gateway Timeout"))
        call.status = "timeout"  # ok/result/description tell whether it was carried out
        return response

    def _fault_error(self, fault: Fault) -> ApiError:
        status = int(fault.status)
        if status == 429:
            return ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        description = DEFAULT_DESCRIPTIONS.get(status)
        if description is None:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Unknown error"
        return ApiError(status, description)

    def _finish(self, call: Call, outcome: Any) -> web.Response:
        call.finished_at = time.monotonic()
        if isinstance(outcome, ApiError):
            call.status, call.ok, call.description = outcome.status, False, outcome.description
            self._notify()
            return self._error_response(outcome)
        body: dict[str, Any] = {"ok": True}
        if isinstance(outcome, tuple):  # (result, description) e.g. "Webhook was set"
            body["result"], body["description"] = outcome
        else:
            body["result"] = outcome
        call.status, call.ok, call.result = 200, True, body["result"]
        self._notify()
        return self._envelope(200, body)

    # -- parameter helpers --------------------------------------------------------------------

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def _target_chat(self, params: dict[str, Any]) -> FakeChat:
        ref = params.get("chat_id")
        if ref is None or ref == "":
            raise _bad("chat_id is empty")
        chat = self._resolve_chat(ref)
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _check_can_write(self, chat: FakeChat) -> None:
        if chat.type == "private":
            user = chat.user
            assert user is not None
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    def _format(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text")
        if text is None or text == "":
            raise _bad("message text is empty")
        entities = params.get("entities")
        if entities is not None and not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        try:
            out_text, out_entities = format_text(str(text), params.get("parse_mode"), entities)
        except EntityParseError as err:
            raise ApiError(400, err.description) from None
        if not out_text:
            raise _bad("message text is empty")
        if utf16_len(out_text) > 4096:
            raise _bad("message is too long")
        return out_text, out_entities

    @staticmethod
    def _check_markup(markup: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Returns (inline keyboard or None, reply keyboard-ish markup or None)."""
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad(
                            "can't parse inline keyboard button: "
                            'Field "text" must be of type String'
                        )
                    if not any(k in button for k in _INLINE_BUTTON_ACTIONS):
                        raise _bad(
                            "can't parse inline keyboard button: "
                            "Text buttons are unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                    url = button.get("url")
                    if url is not None and urlsplit(str(url)).scheme not in (
                        "http",
                        "https",
                        "tg",
                    ):
                        raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
            if not any(rows):
                return None, None
            return {"inline_keyboard": rows}, None
        if "keyboard" in markup or "remove_keyboard" in markup or "force_reply" in markup:
            return None, markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _message_wire(self, msg: RecordedMessage, chat: FakeChat) -> dict[str, Any]:
        sender = self.bot_user if msg.from_bot else self._user_by_id(msg.sender_id)
        wire: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": sender,
            "chat": chat.to_dict(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            wire["edit_date"] = msg.edit_date
        if msg.reply_to_message_id is not None:
            original = chat.messages.get(msg.reply_to_message_id)
            if original is not None and not original.deleted:
                inner = self._message_wire(original, chat)
                inner.pop("reply_to_message", None)
                wire["reply_to_message"] = inner
        if msg.text is not None:
            wire["text"] = msg.text
            if msg.entities:
                wire["entities"] = msg.entities
        wire.update(msg.extra)
        if msg.reply_markup is not None:
            wire["reply_markup"] = msg.reply_markup
        return wire

    def _user_by_id(self, user_id: int) -> dict[str, Any]:
        chat = self._chats.get(user_id)
        if chat is not None and chat.user is not None:
            return chat.user.to_dict()
        return {"id": user_id, "is_bot": False, "first_name": str(user_id)}

    def _find_message(
        self, params: dict[str, Any], not_found: str
    ) -> tuple[FakeChat, RecordedMessage]:
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise _bad(not_found)
        return chat, msg

    # -- Bot API methods ----------------------------------------------------------------------

    async def _m_get_me(self, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,  # privacy mode
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:  # "retrieve from the -offset-th update from the end", forget the rest
            self._pending = self._pending[offset:]
            return
        self._pending = [
            p
            for p in self._pending
            if not (p.update["update_id"] < offset and (p.delivered or not p.forced))
        ]

    async def _m_get_updates(self, params: dict[str, Any]) -> Any:
        if self._webhook.get("url"):
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = self._int(params, "offset")
        limit = max(1, min(100, self._int(params, "limit", 100) or 100))
        timeout = max(0, self._int(params, "timeout", 0) or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = (
                frozenset(allowed) & ALL_UPDATE_TYPES if allowed else DEFAULT_UPDATE_TYPES
            )
        # A newer getUpdates terminates an older one that is still waiting, like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset)
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if generation != self._poll_generation:
                raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
            if self._webhook.get("url"):
                raise ApiError(409, WEBHOOK_ACTIVE)
            batch = self._pending[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping:
                for p in batch:
                    p.delivered = True
                return [p.update for p in batch]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _m_send_message(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        text, entities = self._format(params)
        inline, keyboard = self._check_markup(params.get("reply_markup"))
        reply_to = None
        reply_params = params.get("reply_parameters")
        allow_without = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_params, dict):
            reply_to = reply_params.get("message_id")
            allow_without = bool(reply_params.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            reply_to = self._int(params, "reply_to_message_id")
        self._check_can_write(chat)
        if reply_to is not None:
            original = chat.messages.get(int(reply_to))
            if original is None or original.deleted:
                if not allow_without:
                    raise _bad("message to be replied not found")
                reply_to = None
        msg = RecordedMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=self._now(),
            from_bot=True,
            sender_id=self.bot_id,
            text=text,
            entities=entities,
            reply_markup=inline,
            keyboard=keyboard,
            parse_mode=params.get("parse_mode"),
            reply_to_message_id=int(reply_to) if reply_to is not None else None,
            params=params,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        msg.wire = self._message_wire(msg, chat)
        return msg.wire

    def _edit(
        self,
        chat: FakeChat,
        msg: RecordedMessage,
        text: str | None,
        entities: list[dict[str, Any]] | None,
        markup: dict[str, Any] | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        new_text = msg.text if text is None else text
        new_entities = msg.entities if entities is None else entities
        if new_text == msg.text and new_entities == msg.entities and markup == msg.reply_markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        msg.history.append(
            {
                "text": msg.text,
                "entities": msg.entities,
                "reply_markup": msg.reply_markup,
                "edit_date": msg.edit_date,
            }
        )
        msg.text, msg.entities, msg.reply_markup = new_text, new_entities, markup
        if text is not None:
            msg.parse_mode = params.get("parse_mode")
        msg.edit_date = self._now()
        msg.wire = self._message_wire(msg, chat)
        return msg.wire

    async def _m_edit_message_text(self, params: dict[str, Any]) -> Any:
        chat, msg = self._find_message(params, "message to edit not found")
        text, entities = self._format(params)
        inline, keyboard = self._check_markup(params.get("reply_markup"))
        if keyboard is not None:
            raise _bad("inline keyboard expected")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return self._edit(chat, msg, text, entities, inline, params)

    async def _m_edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        chat, msg = self._find_message(params, "message to edit not found")
        inline, keyboard = self._check_markup(params.get("reply_markup"))
        if keyboard is not None:
            raise _bad("inline keyboard expected")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return self._edit(chat, msg, None, None, inline, params)

    def _delete(self, chat: FakeChat, msg: RecordedMessage) -> None:
        if self._now() - msg.date > DELETE_WINDOW:
            raise _bad("message can't be deleted for everyone")
        if chat.type != "private" and not msg.from_bot and chat.bot_status != "administrator":
            raise _bad("message can't be deleted")
        msg.deleted = True
        msg.deleted_at = self._now()
        self.deleted.append((chat.id, msg.message_id))

    async def _m_delete_message(self, params: dict[str, Any]) -> Any:
        chat, msg = self._find_message(params, "message to delete not found")
        self._delete(chat, msg)
        return True

    async def _m_answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise _bad(QUERY_TOO_OLD[len("Bad Request: ") :])
        del self._open_queries[query_id]
        self.callback_answers[query_id] = params
        return True

    def _scope_key(self, scope: Any, language_code: Any) -> tuple[Any, ...]:
        if scope is None:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad("can't parse BotCommandScope")
        kind = scope["type"]
        chat_id = user_id = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._resolve_chat(scope.get("chat_id"))
            if chat is None:
                raise _bad("chat not found")
            chat_id = chat.id
        if kind == "chat_member":
            user_id = self._int(scope, "user_id")
            if user_id is None:
                raise _bad("user not found")
        return (kind, chat_id, user_id, language_code or "")

    async def _m_set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_RE.match(str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _m_get_my_commands(self, params: dict[str, Any]) -> Any:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    async def _m_delete_my_commands(self, params: dict[str, Any]) -> Any:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    async def _m_set_webhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return await self._m_delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        info: dict[str, Any] = {
            "url": url,
            "secret_token": secret,
            "max_connections": self._int(params, "max_connections", 40),
            "ip_address": params.get("ip_address") or "127.0.0.1",
            "has_custom_certificate": bool(params.get("certificate")),
        }
        if isinstance(allowed, list):
            self._allowed_updates = (
                frozenset(allowed) & ALL_UPDATE_TYPES if allowed else DEFAULT_UPDATE_TYPES
            )
        if isinstance(allowed, list) and allowed:
            info["allowed_updates"] = list(allowed)
        already = self._webhook.get("url") == url
        self._webhook = info
        self._poll_generation += 1  # a waiting getUpdates now gets 409
        self._notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True, "Webhook is already set" if already else "Webhook was set"

    async def _m_delete_webhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was_set = bool(self._webhook.get("url"))
        self._webhook = {"url": ""}
        self._notify()
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    async def _m_get_webhook_info(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": bool(self._webhook.get("has_custom_certificate")),
            "pending_update_count": len(self._pending),
        }
        if info["url"]:
            for key in (
                "ip_address",
                "max_connections",
                "allowed_updates",
                "last_error_date",
                "last_error_message",
            ):
                if self._webhook.get(key) is not None:
                    info[key] = self._webhook[key]
        return info

    async def _m_get_chat(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        info = {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.type == "supergroup":
            info.setdefault("permissions", {"can_send_messages": True})
        return info

    async def _m_send_chat_action(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        self._check_can_write(chat)
        action = str(params.get("action") or "")
        if not action:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    # -- webhook delivery ---------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """POST pending updates one by one to the webhook (loopback hosts only)."""
        backoff = 0.05
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._stopping and self._webhook.get("url"):
                event = self._changed
                url = self._webhook["url"]
                if not self._pending or urlsplit(url).hostname not in _LOOPBACK_HOSTS:
                    if self._pending:
                        self._webhook["last_error_date"] = self._now()
                        self._webhook["last_error_message"] = (
                            "FakeBotApi only delivers to 127.0.0.1/localhost"
                        )
                    await event.wait()
                    continue
                pending = self._pending[0]
                headers = {}
                if self._webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
                status: int | str
                try:
                    async with session.post(url, json=pending.update, headers=headers) as resp:
                        status = resp.status
                        await resp.read()
                except Exception as exc:  # connection refused, timeout, ...
                    status = f"{type(exc).__name__}: {exc}"
                self.webhook_deliveries.append((pending.update["update_id"], status))
                if isinstance(status, int) and 200 <= status < 300:
                    with contextlib.suppress(ValueError):
                        self._pending.remove(pending)
                    backoff = 0.05
                    self._notify()
                    continue
                self._webhook["last_error_date"] = self._now()
                self._webhook["last_error_message"] = (
                    f"Wrong response from the webhook: {status}"
                    if isinstance(status, int)
                    else f"Connection failed: {status}"
                )
                self._notify()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), backoff)
                backoff = min(backoff * 2, 2.0)
