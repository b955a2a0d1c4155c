"""Start-up independence, webhook catch-up, button press dates, refused deletions.

Production pacing against the fake Bot API with Telegram's limits (see tests/telegram_api).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from c2p_bot.core.crypto import Kek
from c2p_bot.core.events import DELETE_MESSAGE, Button, DeliveryError, Incoming, Outgoing
from storage.engine import make_engine
from tests.support.postgres import free_port
from tests.telegram.support import TelegramBot, eventually
from tests.telegram_api import FakeBotApi

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
LOGGER = "c2p_bot.transports.telegram"
STRANGER = r"private service"


@pytest.fixture
async def make_bot(api: FakeBotApi, sqlite_url: str) -> AsyncIterator[Any]:
    """A factory of (not yet started) bots with extra [telegram] settings; stopped at the end."""
    made: list[TelegramBot] = []
    engine = make_engine(sqlite_url)

    def make(**telegram: Any) -> TelegramBot:
        bot = TelegramBot(api, engine, Kek.generate(), **telegram)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        await bot.stop()
    engine.dispose()


async def timed(work: Any) -> float:
    started = time.monotonic()
    await work
    return time.monotonic() - started


def connect_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(LOGGER) and "connect" in r.getMessage()]


async def test_start_returns_at_once_and_deliveries_fail_fast_while_getme_hangs(
        api: FakeBotApi, make_bot: Any) -> None:
    api.fail("getMe", status="timeout", delay=30, times=None)  # Telegram answers nothing
    bot = make_bot()
    assert await timed(bot.start(connected=False)) < 1.0
    assert not bot.transport.connected
    message = Outgoing(outbox_id=1, platform="telegram", chat_id="42", text="hello")
    started = time.monotonic()
    with pytest.raises(DeliveryError) as failure:
        await bot.transport.deliver(message)
    assert time.monotonic() - started < 1.5
    assert failure.value.reason == "telegram: not connected" and not failure.value.permanent
    assert await timed(bot.stop()) < 3.0  # while connecting


@pytest.mark.parametrize("base_url", ["closed-port", "htp:/not a url/bot", "bad-gateway"])
async def test_each_failed_connection_is_one_line_and_stop_is_prompt_while_backing_off(
        api: FakeBotApi, make_bot: Any, caplog: pytest.LogCaptureFixture, base_url: str) -> None:
    caplog.set_level(logging.INFO)
    if base_url == "closed-port":
        base_url = f"http://127.0.0.1:{free_port()}/bot"
    if base_url == "bad-gateway":
        api.fail("getMe", status=502, times=None)
        base_url = api.base_url
    bot = make_bot(base_url=base_url)
    assert await timed(bot.start(connected=False)) < 1.0
    await eventually(lambda: len(connect_lines(caplog)) >= 2, timeout=6, what="two attempts")
    lines = connect_lines(caplog)
    for record in lines:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None and record.exc_text is None
        assert "\n" not in record.getMessage() and "retrying in" in record.getMessage()
        assert api.token not in record.getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.exc_text]  # no traceback anywhere
    assert not bot.transport.connected
    assert await timed(bot.stop()) < 3.0  # while backing off


@pytest.mark.parametrize("error", [OSError("network is unreachable"), ValueError("bad value")])
async def test_any_exception_while_connecting_is_one_line(
        make_bot: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        error: Exception) -> None:
    from telegram.ext import Application

    async def failing(self: Any) -> None:
        raise error

    monkeypatch.setattr(Application, "initialize", failing)
    caplog.set_level(logging.INFO)
    bot = make_bot()
    await bot.start(connected=False)
    await eventually(lambda: connect_lines(caplog), what="a connection attempt")
    line = connect_lines(caplog)[0]
    assert line.exc_info is None and type(error).__name__ in line.getMessage()
    assert await timed(bot.stop()) < 3.0


async def test_a_refused_token_is_one_error_line_and_telegram_stays_down(
        api: FakeBotApi, make_bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    api.fail("getMe", status=401, times=None)
    bot = make_bot()
    await bot.start(connected=False)
    await eventually(lambda: api.calls_for("getMe"), what="getMe")
    await asyncio.sleep(1.5)
    errors = [r for r in caplog.records if r.name.startswith(LOGGER) and r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "token" in errors[0].getMessage()
    assert errors[0].exc_info is None and api.token not in errors[0].getMessage()
    assert len(api.calls_for("getMe")) == 1  # retried rarely, not in a loop
    assert not bot.transport.connected
    await bot.runtime.tick()  # the rest of the bot runs: the sweeper is not held up
    assert await timed(bot.stop()) < 3.0


async def test_stop_is_prompt_while_polling(make_bot: Any) -> None:
    bot = make_bot()
    await bot.start()
    await bot.api.wait_for_call("getUpdates", count=2, finished=False)  # a long poll is waiting
    assert await timed(bot.stop()) < 3.0


async def test_webhook_mode_is_caught_up_only_once_pending_updates_were_handled(
        api: FakeBotApi, make_bot: Any) -> None:
    port = free_port()
    bot = make_bot(webhook_url=f"http://127.0.0.1:{port}/telegram/hook", webhook_port=port)
    users = [bot.user(name) for name in ("amina", "bob", "chen")]
    for user in users:  # written while the bot was down: Telegram holds them
        user.send_text("hello", date=bot.clock.now())
    handled: list[str] = []
    await bot.start(connected=False)
    handle = bot.runtime.handle

    async def slow_handle(incoming: Incoming) -> None:
        await asyncio.sleep(0.4)  # a busy core: the pushed updates wait in PTB's queue
        await handle(incoming)
        handled.append(incoming.sender_id)

    bot.runtime.handle = slow_handle  # type: ignore[method-assign]
    assert await bot.transport.wait_caught_up(15)
    assert sorted(handled) == sorted(str(u.id) for u in users)
    assert api.calls_for("getWebhookInfo")
    assert api.pending_updates == []


async def test_a_button_press_is_dated_when_it_reached_the_bot(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    await bot.say(amina, "hello", STRANGER)
    bot.enqueue(amina, "Are you safe?", key="t:ask", buttons=((Button("Yes", "/help"),),))
    asked = await api.wait_for_message(amina, r"Are you safe\?")
    presses: list[Incoming] = []
    handle = bot.runtime.handle

    async def slow_handle(incoming: Incoming) -> None:
        if incoming.text == "slow":
            await asyncio.sleep(0.3)
            bot.clock.advance(timedelta(hours=1))  # handling took "an hour"
        if incoming.is_button:
            presses.append(incoming)
        await handle(incoming)

    bot.runtime.handle = slow_handle  # type: ignore[method-assign]
    before = bot.clock.now()
    amina.send_text("slow", date=before)  # both in one getUpdates batch
    amina.press(asked, text="Yes")
    await eventually(lambda: presses, what="the press handled")
    sent_at = presses[0].sent_at
    assert sent_at is not None
    assert before <= sent_at < before + timedelta(minutes=1)  # not an hour later, when handled


async def test_a_deletion_telegram_refuses_after_48_hours_is_a_failure(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    await bot.say(amina, "hello", STRANGER)
    bot.enqueue(amina, "a note", key="t:note")
    note = await api.wait_for_message(amina, r"^a note$")
    api.age_message(note, timedelta(hours=49))
    refused = Outgoing(outbox_id=0, platform="telegram", chat_id=str(amina.id),
                       text=str(note.message_id), kind=DELETE_MESSAGE)
    with pytest.raises(DeliveryError) as failure:
        await bot.transport.deliver(refused)
    assert failure.value.permanent
    assert failure.value.reason == "telegram 400: message can no longer be deleted"
    bot.enqueue(amina, str(note.message_id), key="t:del-note", kind=DELETE_MESSAGE)
    row = await eventually(lambda: (r := bot.outbox_row("t:del-note")).failed_at and r, timeout=8,
                           what="the deletion recorded as failed")
    assert row.delivered_at is None
    assert not note.deleted
    # Gone already still counts as done.
    gone = Outgoing(outbox_id=0, platform="telegram", chat_id=str(amina.id), text="99999",
                    kind=DELETE_MESSAGE)
    assert await bot.transport.deliver(gone) is None
