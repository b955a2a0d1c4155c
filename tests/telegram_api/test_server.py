"""python-telegram-bot, unmodified, against the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.telegram_api.server import FakeBotApi


def build_app(api: FakeBotApi) -> Application:
    return (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@contextlib.asynccontextmanager
async def bot_for(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as bot:
        yield bot


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ----------------------------------------------------------------------------------------------
# End to end with Application + polling
# ----------------------------------------------------------------------------------------------


async def test_start_command_and_button_press_through_polling(fake_api: FakeBotApi) -> None:
    seen_args: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen_args.append(list(context.args or []))
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("I am safe", callback_data="safe")],
                [InlineKeyboardButton("Help", callback_data="help")],
            ]
        )
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Welcome, code {context.args[0]}", reply_markup=keyboard
        )

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Noted")
        await query.edit_message_text(f"You chose {query.data}")

    app = build_app(fake_api)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(button))
    amina = fake_api.user("amina")

    async with polling(app):
        update = amina.send_text("/start CODE42")
        entity = update["message"]["entities"][0]
        assert entity == {"offset": 0, "length": 6, "type": "bot_command"}

        reply = await fake_api.wait_for_message(amina, r"Welcome, code CODE42", timeout=5)
        assert seen_args == [["CODE42"]]
        assert reply.button_texts == ["I am safe", "Help"]
        assert reply.callback_data == ["safe", "help"]
        assert reply.message_id == 2  # /start was message 1 in this private chat
        assert reply.wire["from"]["username"] == fake_api.bot_username

        press = amina.press(reply, "safe")
        await fake_api.wait_for(lambda: reply.text == "You chose safe", timeout=5)
        assert reply.buttons == []  # editMessageText without reply_markup drops the keyboard
        assert reply.history[0]["text"] == "Welcome, code CODE42"
        assert fake_api.callback_answers[press["callback_query"]["id"]]["text"] == "Noted"

    methods = [c.method for c in fake_api.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert "sendMessage" in methods and "answerCallbackQuery" in methods
    assert all(c.time <= d.time for c, d in zip(fake_api.calls, fake_api.calls[1:], strict=False))


async def test_group_commands_with_botname_and_privacy_mode(fake_api: FakeBotApi) -> None:
    got: list[str] = []

    async def on_any(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        got.append(update.effective_message.text)
        await update.effective_message.reply_text("ack")

    app = build_app(fake_api)
    app.add_handler(CommandHandler("status", on_any))
    app.add_handler(MessageHandler(filters.TEXT, on_any))
    amina, bob = fake_api.user("amina"), fake_api.user("bob")
    group = fake_api.group("defenders", [amina, bob])
    assert group.type == "supergroup" and group.id < -1_000_000_000_000

    async with polling(app):
        assert group.send_text(bob, "just chatting") is None  # privacy mode: not delivered
        assert group.send_text(bob, "/status@someone_else_bot") is None
        update = group.send_text(amina, f"/status@{fake_api.bot_username} now")
        assert update is not None
        assert update["message"]["entities"][0]["length"] == len(f"/status@{fake_api.bot_username}")
        ack = await fake_api.wait_for_message(group, "ack", timeout=5)
        # A reply to the bot's message is delivered even in privacy mode.
        assert group.send_text(bob, "thanks", reply_to=ack) is not None
        await fake_api.wait_for_message(group, "ack", timeout=5)

    assert got == [f"/status@{fake_api.bot_username} now", "thanks"]


async def test_duplicate_update_is_delivered_twice(fake_api: FakeBotApi) -> None:
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)

    app = build_app(fake_api)
    app.add_handler(MessageHandler(filters.ALL, record))
    amina = fake_api.user("amina")

    async with polling(app):
        first = amina.send_text("hello")
        await fake_api.wait_for(lambda: len(seen) == 1, timeout=5)
        fake_api.inject_raw(first)  # same update_id, already confirmed by the bot
        await fake_api.wait_for(lambda: len(seen) == 2, timeout=5)
        later = amina.send_text("again")
        await fake_api.wait_for(lambda: len(seen) == 3, timeout=5)

    assert seen == [first["update_id"], first["update_id"], later["update_id"]]
    assert fake_api.pending_updates == []  # PTB's shutdown getUpdates confirmed everything


async def test_block_injects_my_chat_member_and_sends_fail(fake_api: FakeBotApi) -> None:
    statuses: list[str] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)

    app = build_app(fake_api)
    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    amina, stranger = fake_api.user("amina"), fake_api.user("stranger")
    amina.send_text("/start")

    async with polling(app):
        amina.block()
        await fake_api.wait_for(lambda: statuses == ["kicked"], timeout=5)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(amina.id, "are you there?")
        with pytest.raises(Forbidden, match="can't initiate conversation"):
            await app.bot.send_message(stranger.id, "hi")


# ----------------------------------------------------------------------------------------------
# Errors as PTB sees them
# ----------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
async def test_fault_injection_maps_to_ptb_exceptions(fake_api: FakeBotApi) -> None:
    amina = fake_api.user("amina")
    amina.send_text("/start")
    async with bot_for(fake_api) as bot:
        fake_api.fail(method="sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(amina.id, "x")
        assert seconds(info.value.retry_after) == 7

        fake_api.fail(method="sendMessage", status=500)
        with pytest.raises(NetworkError, match="Internal Server Error") as err:
            await bot.send_message(amina.id, "x")
        assert not isinstance(err.value, BadRequest | Forbidden)

        fake_api.fail(method="sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(amina.id, "x")

        fake_api.fail(method="sendMessage", status=403)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(amina.id, "x")

        fake_api.fail(method="sendMessage", status=400)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(amina.id, "x")

        # Real (not injected) chat-not-found.
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(123, "x")

        message = await bot.send_message(amina.id, "finally")
        assert message.text == "finally"

    failed = [c for c in fake_api.calls if c.fault is not None]
    assert [c.status for c in failed] == [429, 500, 502, 403, 400]
    assert fake_api.calls_for("sendMessage")[-1].ok is True
    assert [m.text for m in fake_api.sent_to(amina)] == ["finally"]


async def test_fault_scoping_by_chat_count_and_window(unpaced_api: FakeBotApi) -> None:
    amina, bob = unpaced_api.user("amina"), unpaced_api.user("bob")
    amina.send_text("/start")
    bob.send_text("/start")
    async with bot_for(unpaced_api) as bot:
        unpaced_api.fail(chat_id=amina, status=500, times=2)
        await bot.send_message(bob.id, "bob is fine")
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.send_message(amina.id, "x")
        await bot.send_message(amina.id, "third time lucky")

        fault = unpaced_api.fail(method="getChat", status=503, times=None, for_seconds=0.3)
        with pytest.raises(NetworkError, match="Service Unavailable"):
            await bot.get_chat(amina.id)
        await asyncio.sleep(0.35)  # let the fault's time window run out
        assert not fault.active(time.monotonic())
        chat = await bot.get_chat(amina.id)
        assert chat.username == "amina"

        unpaced_api.fail(method="sendMessage", status=500, times=None)
        unpaced_api.clear_faults()
        await bot.send_message(amina.id, "cleared")


async def test_timeout_fault_still_processes_the_request(fake_api: FakeBotApi) -> None:
    amina = fake_api.user("amina")
    amina.send_text("/start")
    async with bot_for(fake_api) as bot:
        fake_api.fail(method="sendMessage", status="timeout", delay=0.6)
        with pytest.raises(TimedOut):
            await bot.send_message(amina.id, "slow", read_timeout=0.2)
        # Like Telegram, the request was carried out even though the client gave up.
        msg = await fake_api.wait_for_message(amina, "slow", timeout=3)
        assert msg.message_id == 2
        assert fake_api.calls_for("sendMessage")[0].status == "timeout"


async def test_wrong_token_unknown_method_and_raw_envelopes(unpaced_api: FakeBotApi) -> None:
    wrong = unpaced_api.token.split(":")[0] + ":" + "B" * 35
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{unpaced_api.base_url}{wrong}/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{unpaced_api.base_url}{unpaced_api.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        unpaced_api.fail(method="getMe", status=429, retry_after=5)
        async with http.get(f"{unpaced_api.base_url}{unpaced_api.token}/getMe") as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 5",
                "parameters": {"retry_after": 5},
            }
        # JSON body with a real object as reply_markup (other clients do this).
        amina = unpaced_api.user("amina")
        amina.send_text("/start")
        body = {
            "chat_id": amina.id,
            "text": "json body",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        }
        async with http.post(f"{unpaced_api.base_url}{unpaced_api.token}/sendMessage", json=body) as r:
            payload = await r.json()
            assert payload["ok"] is True
            assert payload["result"]["reply_markup"] == body["reply_markup"]
        # Form body with reply_markup as a JSON string (what PTB sends).
        form = {
            "chat_id": str(amina.id),
            "text": "123",
            "reply_markup": json.dumps(body["reply_markup"]),
        }
        async with http.post(f"{unpaced_api.base_url}{unpaced_api.token}/sendMessage", data=form) as r:
            payload = await r.json()
            assert payload["result"]["text"] == "123"  # text stays a string
            assert unpaced_api.sent_to(amina)[-1].callback_data == ["a"]

    with pytest.raises(InvalidToken):
        async with Bot(wrong, base_url=unpaced_api.base_url):
            pass
    async with bot_for(unpaced_api) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")


# ----------------------------------------------------------------------------------------------
# Individual methods
# ----------------------------------------------------------------------------------------------


async def test_set_my_commands_recorded_per_scope(fake_api: FakeBotApi) -> None:
    amina, bob = fake_api.user("amina"), fake_api.user("bob")
    async with bot_for(fake_api) as bot:
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
        await bot.set_my_commands(
            [BotCommand("checkin", "Check in now")], scope=BotCommandScopeChat(amina.id)
        )
        await bot.set_my_commands([BotCommand("hilfe", "Hilfe")], language_code="de")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        scoped = await bot.get_my_commands(scope=BotCommandScopeChat(amina.id))
        assert [c.command for c in scoped] == ["checkin"]
        assert await bot.get_my_commands(scope=BotCommandScopeChat(bob.id)) == ()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.set_my_commands([BotCommand("x", "x")], scope=BotCommandScopeChat(1))

        assert fake_api.commands_for(amina) == [
            {"command": "checkin", "description": "Check in now"}
        ]
        assert fake_api.commands_for(BotCommandScopeChat(amina.id)) == fake_api.commands_for(amina)
        assert fake_api.commands_for(bob) == []
        assert [c["command"] for c in fake_api.commands_for()] == ["start", "help"]
        assert [c["command"] for c in fake_api.commands_for(language_code="de")] == ["hilfe"]

        await bot.delete_my_commands(scope=BotCommandScopeChat(amina.id))
        assert fake_api.commands_for(amina) == []


async def test_delete_message_and_edit_errors(unpaced_api: FakeBotApi) -> None:
    amina = unpaced_api.user("amina")
    amina.send_text("/start")
    async with bot_for(unpaced_api) as bot:
        first = await bot.send_message(amina.id, "one")
        second = await bot.send_message(
            amina.id,
            "two",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]]),
        )
        assert (first.message_id, second.message_id) == (2, 3)
        assert await bot.delete_message(amina.id, first.message_id) is True
        assert unpaced_api.deleted == [(amina.id, first.message_id)]
        assert unpaced_api.sent_to(amina)[0].deleted is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(amina.id, first.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(amina.id, 999)

        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(
                amina.id,
                second.message_id,
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("ok", callback_data="ok")]]
                ),
            )
        await bot.edit_message_reply_markup(amina.id, second.message_id, reply_markup=None)
        assert unpaced_api.sent_to(amina)[1].buttons == []
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", amina.id, first.message_id)
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", amina.id, 1)  # amina's own /start


async def test_parse_modes_like_telegram(unpaced_api: FakeBotApi) -> None:
    amina = unpaced_api.user("amina")
    amina.send_text("/start")
    async with bot_for(unpaced_api) as bot:
        msg = await bot.send_message(
            amina.id, "<b>Safe</b> &amp; sound 🙂 <i>ok</i>", parse_mode="HTML"
        )
        assert msg.text == "Safe & sound 🙂 ok"
        assert [(e.type, e.offset, e.length) for e in msg.entities] == [
            ("bold", 0, 4),
            ("italic", 16, 2),  # the emoji counts as 2 UTF-16 code units
        ]
        with pytest.raises(BadRequest, match='(?i)unsupported start tag "br"'):
            await bot.send_message(amina.id, "a<br>b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)can't find end tag"):
            await bot.send_message(amina.id, "<b>open", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)character '.' is reserved"):
            await bot.send_message(amina.id, "*Hi* there.", parse_mode="MarkdownV2")
        ok = await bot.send_message(amina.id, "*Hi* there\\.", parse_mode="MarkdownV2")
        assert ok.text == "Hi there." and ok.entities[0].type == "bold"
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(amina.id, "   ")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(amina.id, "x" * 4097)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(
                amina.id,
                "x",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("b", callback_data="d" * 65)]]
                ),
            )


async def test_long_poll_returns_promptly_and_confirms_by_offset(fake_api: FakeBotApi) -> None:
    amina = fake_api.user("amina")
    async with bot_for(fake_api) as bot:
        assert await bot.get_updates(timeout=0) == ()
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await fake_api.wait_for_call("getUpdates", count=2, finished=False)
        update = amina.send_text("ping")
        got = await poll
        assert time.monotonic() - started < 2
        assert [u.update_id for u in got] == [update["update_id"]]
        # Not confirmed yet: comes again.
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [update["update_id"]]
        # Confirmed by offset.
        assert await bot.get_updates(offset=update["update_id"] + 1, timeout=0) == ()
        assert fake_api.pending_updates == []

        second = amina.send_text("two")
        third = amina.send_text("three")
        limited = await bot.get_updates(limit=1, timeout=0)
        assert [u.update_id for u in limited] == [second["update_id"]]
        assert third["update_id"] == second["update_id"] + 1

        # An empty long poll really waits for its timeout.
        await bot.get_updates(offset=third["update_id"] + 1, timeout=0)
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 < time.monotonic() - started < 3

        # A second poller terminates the first one with 409, like Telegram.
        first_poll = asyncio.create_task(bot.get_updates(timeout=10))
        await fake_api.wait_for(
            lambda: fake_api.calls_for("getUpdates")[-1].finished_at is None, timeout=2
        )
        async with bot_for(fake_api) as other:
            assert await other.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first_poll


async def test_webhook_makes_get_updates_conflict(fake_api: FakeBotApi) -> None:
    async with bot_for(fake_api) as bot:
        assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == "https://example.org/hook"
        assert fake_api.webhook["secret_token"] == "s3cret"
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates(timeout=0)
        fake_api.user("amina").send_text("queued while webhook points elsewhere")
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert len(await bot.get_updates(timeout=0)) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_updates_are_posted_to_a_ptb_webhook(fake_api: FakeBotApi) -> None:
    seen: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        seen.append(update.effective_message.text)

    app = build_app(fake_api)
    app.add_handler(MessageHandler(filters.TEXT, record))
    port = _free_port()
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="s3cret",
        )
        try:
            fake_api.user("amina").send_text("via webhook")
            await fake_api.wait_for(lambda: seen == ["via webhook"], timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake_api.webhook_deliveries[-1][1] == 200


async def test_allowed_updates_negative_offset_and_reply_keyboards(unpaced_api: FakeBotApi) -> None:
    amina = unpaced_api.user("amina")
    chat_member = {
        "chat_member": {
            "chat": amina.chat_dict(),
            "from": amina.to_dict(),
            "date": 1,
            "old_chat_member": {"status": "left", "user": amina.to_dict()},
            "new_chat_member": {"status": "member", "user": amina.to_dict()},
        }
    }
    async with bot_for(unpaced_api) as bot:
        # Telegram's default allowed_updates excludes chat_member: such updates are never sent.
        unpaced_api.inject_raw(chat_member)
        assert unpaced_api.pending_updates == [] and len(unpaced_api.dropped_updates) == 1
        await bot.get_updates(timeout=0, allowed_updates=["message", "chat_member"])
        queued = unpaced_api.inject_raw(chat_member)
        got = await bot.get_updates(timeout=0)
        assert [u.update_id for u in got] == [queued["update_id"]]
        assert got[0].chat_member is not None

        # Negative offset keeps only the last -offset updates.
        for word in ("a", "b", "c"):
            amina.send_text(word)
        last = await bot.get_updates(offset=-1, timeout=0)
        assert [u.message.text for u in last if u.message] == ["c"]

        await bot.send_chat_action(amina.id, "typing")
        assert unpaced_api.chat_actions == [(amina.id, "typing")]
        await bot.send_message(
            amina.id,
            "pick",
            reply_markup=ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True),
        )
        assert unpaced_api.keyboard_for(amina)["keyboard"] == [[{"text": "Yes"}, {"text": "No"}]]
        assert unpaced_api.last_sent(amina).reply_markup is None  # only inline ones are echoed
        await bot.send_message(amina.id, "thanks", reply_markup=ReplyKeyboardRemove())
        assert unpaced_api.keyboard_for(amina) is None
        with pytest.raises(BadRequest, match="Message to be replied not found"):
            await bot.send_message(amina.id, "re", reply_to_message_id=999)
        reply = await bot.send_message(amina.id, "re", reply_to_message_id=1)
        assert reply.reply_to_message is not None and reply.reply_to_message.text == "a"


# ----------------------------------------------------------------------------------------------
# Telegram's limits, on by default
# ----------------------------------------------------------------------------------------------


async def test_one_message_a_second_per_private_chat_by_default(fake_api: FakeBotApi) -> None:
    amina, bob = fake_api.user("amina"), fake_api.user("bob")
    amina.send_text("hi")
    bob.send_text("hi")
    async with bot_for(fake_api) as bot:
        first = await bot.send_message(amina.id, "one")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(amina.id, "two")
        assert seconds(refused.value.retry_after) == 1
        await bot.send_message(bob.id, "another chat is not held back")
        await asyncio.sleep(1.05)
        await bot.send_message(amina.id, "two, a second later")
    assert [m.text for m in fake_api.sent_to(amina)] == ["one", "two, a second later"]
    assert first.message_id == 2
    # The raw answer is Telegram's.
    refusal = [c for c in fake_api.calls_for("sendMessage") if c.status == 429]
    assert [c.description for c in refusal] == ["Too Many Requests: retry after 1"]
    await asyncio.sleep(1.05)
    async with aiohttp.ClientSession() as http:
        url = f"{fake_api.base_url}{fake_api.token}/sendMessage"
        async with http.post(url, json={"chat_id": amina.id, "text": "x"}) as ok:
            assert ok.status == 200
        async with http.post(url, json={"chat_id": amina.id, "text": "y"}) as r:
            assert r.status == 429
            assert await r.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }


async def test_twenty_messages_a_minute_per_group(fake_api: FakeBotApi) -> None:
    group = fake_api.group("Defenders", members=["amina"])
    async with bot_for(fake_api) as bot:
        for n in range(20):
            await bot.send_message(group.id, f"group message {n}")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(group.id, "one too many")
        assert 55 <= seconds(refused.value.retry_after) <= 60
    assert len(fake_api.sent_to(group)) == 20


async def test_thirty_messages_a_second_per_bot_then_a_bot_wide_flood_wait(
    fake_api: FakeBotApi,
) -> None:
    users = [fake_api.user(f"user{n}") for n in range(32)]
    for user in users:
        user.send_text("hi")
    async with bot_for(fake_api) as bot:
        for user in users[:30]:
            await bot.send_message(user.id, "hello")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(users[30].id, "the 31st within a second")
        assert seconds(refused.value.retry_after) == 1
        # Bot-wide: a chat that has received nothing is refused too, until the wait is over.
        with pytest.raises(RetryAfter):
            await bot.send_message(users[31].id, "a fresh chat")
        await asyncio.sleep(1.05)
        await bot.send_message(users[31].id, "after the flood wait")
    assert fake_api.flood is not None
    assert [scope for scope, _ in fake_api.flood.refused] == ["bot", "bot"]


async def test_calls_during_a_flood_wait_are_refused_until_it_ends(fake_api: FakeBotApi) -> None:
    amina = fake_api.user("amina")
    amina.send_text("hi")
    async with bot_for(fake_api) as bot:
        await bot.send_message(amina.id, "one")
        with pytest.raises(RetryAfter):
            await bot.send_message(amina.id, "too soon")  # flood wait: 1 s from now
        await asyncio.sleep(0.8)  # the window alone would allow it; the flood wait does not
        with pytest.raises(RetryAfter):
            await bot.send_message(amina.id, "ignoring retry_after")
        # Only new messages count: editing, deleting, menus and getUpdates are not limited.
        await bot.get_updates(timeout=0)
        await bot.set_my_commands([BotCommand("help", "Help")])


def test_relaxing_the_limits_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="must say why"):
        FakeBotApi(rate_limits=None)
    FakeBotApi(rate_limits=None, relaxed_because="measures the fake's own throughput")


async def test_messages_older_than_48_hours_cannot_be_deleted(fake_api: FakeBotApi) -> None:
    amina = fake_api.user("amina")
    update = amina.send_text("my note")
    assert update is not None
    async with bot_for(fake_api) as bot:
        old = await bot.send_message(amina.id, "sent two days ago")
        fake_api.advance_clock(dtm.timedelta(hours=47, minutes=59))
        await asyncio.sleep(1.05)
        recent = await bot.send_message(amina.id, "sent just now")
        assert await bot.delete_message(amina.id, old.message_id)  # 47 h 59 min: still allowed
        fake_api.advance_clock(dtm.timedelta(minutes=2))  # the user's message is now 48 h 1 min old
        with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
            await bot.delete_message(amina.id, update["message"]["message_id"])
        record = fake_api.chat(amina).messages[recent.message_id]
        fake_api.age_message(record, dtm.timedelta(hours=49))
        with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
            await bot.delete_message(amina.id, recent.message_id)
    assert fake_api.deleted == [(amina.id, old.message_id)]
    assert not fake_api.chat(amina).messages[recent.message_id].deleted
