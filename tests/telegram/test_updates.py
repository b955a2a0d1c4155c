"""Receiving: duplicates, restarts, groups, foreign button presses, deletions, webhook mode."""

from __future__ import annotations

import copy
from datetime import timedelta

import aiohttp
from sqlmodel import func, select

from c2p_bot.core.crypto import Kek
from c2p_bot.core.events import DELETE_MESSAGE, Button
from c2p_bot.transports.telegram.formatting import split_text
from storage.engine import make_engine
from storage.models import Invite, SeenEvent
from tests.support.postgres import free_port
from tests.telegram.support import Press, TelegramBot, eventually
from tests.telegram_api import FakeBotApi, FakeUser

STRANGER = r"private service"


def texts(api: FakeBotApi, chat: FakeUser | int, pattern: str = "") -> list[str]:
    return [m.text for m in api.sent_to(chat) if m.text and pattern in m.text]


async def test_duplicate_updates_are_handled_once(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    update = amina.send_text("hello", date=bot.clock.now())
    assert update is not None
    await api.wait_for_message(amina, STRANGER)
    api.inject_raw(update)  # the same update_id again (as after a crash before confirming)
    again = copy.deepcopy(update)
    del again["update_id"]  # a new update id carrying the same chat + message id
    api.inject_raw(again)
    marker = amina.send_text("marker", date=bot.clock.now())
    assert marker is not None
    await api.wait_for_message(amina, STRANGER)  # handled after both duplicates
    assert len(texts(api, amina)) == 2
    # A restart forgets the in-memory update ids: the database still knows the message.
    await bot.restart()
    api.inject_raw(update)
    await bot.say(amina, "marker 2", STRANGER)
    assert len(texts(api, amina)) == 3
    fetched = [u["update_id"] for c in api.calls_for("getUpdates") if c.ok for u in c.result]
    assert fetched.count(update["update_id"]) == 3
    assert fetched.count(marker["update_id"]) == 1  # handled updates were confirmed on stop


async def test_restart_in_the_middle_of_onboarding_continues(bot: TelegramBot) -> None:
    api = bot.api
    cora = await bot.onboard_coordinator()
    code = await bot.invite_via(cora, "hrd")
    amina = bot.user("amina")
    await bot.say(amina, f"/start {code}", r"Choose an alias")
    await bot.say(amina, "Amina", r"Which country")
    await bot.stop()
    amina.send_text("KE", date=bot.clock.now())  # written while the bot is down: not lost
    await bot.start()
    await bot.answer_questions(amina, [
        ("Which languages", "en"),
        ("Who would you like to be matched with", Press("journalist")),
        ("Which areas of work", "press-freedom"),
        ("Which time zone", "UTC"),
    ])
    person = bot.person("Amina")
    assert (person.status, person.country, person.wants) == ("active", "KE", "journalist")
    assert len(texts(api, amina, "end-to-end")) == 1
    await api.wait_for(lambda: api.commands_for(amina), what="amina's menu")


async def test_messages_queued_before_the_transport_starts_go_out_at_start(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    await bot.say(amina, "hello", STRANGER)
    await bot.stop()
    # The runtime starts first and its dispatcher claims a row before getMe is done: it waits.
    await bot.start(runtime_first=True, between=lambda: bot.enqueue(amina, "queued", key="t:queued"))
    await api.wait_for_message(amina, r"^queued$", timeout=3)
    row = await eventually(lambda: (r := bot.outbox_row("t:queued")).delivered_at and r)
    assert row.attempts == 1 and row.last_error is None


async def test_group_gets_one_notice_then_silence(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    group = api.group("Defenders", members=[amina], bot_is_admin=True)  # sees every message
    amina.send(chat=group, new_chat_members=[api.bot_user])  # the bot was added: say nothing
    group.send_text(amina, "good morning everyone")
    group.send_text(amina, "/help")
    group.send_text(amina, f"/start@{api.bot_username} ABCD-EFGH-JKLM")
    group.send_text(amina, "/checkin")
    group.send_text(amina, "/help@another_bot")  # another bot's command: not ours to answer
    await bot.say(amina, "hello", STRANGER)  # updates are handled in order: the group's are done
    assert texts(api, group) == ["I only work in private chats. Please write to me directly."]
    with bot.session() as session:
        keys = session.exec(select(SeenEvent.event_key)).all()
    # Only the three commands reached the core: not the service message (1) nor the chatter (2).
    assert sorted(k for k in keys if k.startswith(f"m:{group.id}:")) == [
        f"m:{group.id}:{n}" for n in (3, 4, 5)]


async def test_someone_elses_button_acts_only_for_the_presser(bot: TelegramBot) -> None:
    api = bot.api
    cora = await bot.onboard_coordinator()
    mallory = bot.user("mallory")
    await bot.say(mallory, "hi", STRANGER)
    bot.enqueue(cora, "Invite someone?", key="t:buttons", buttons=((Button("An HRD", "/invite hrd"),),))
    offer = await api.wait_for_message(cora, r"Invite someone\?")
    before = len(api.sent_to(cora))
    mallory.press(offer, text="An HRD")
    await api.wait_for_message(mallory, STRANGER)  # in mallory's own chat
    await bot.say(cora, "/help", r"Commands you can use")
    assert len(api.sent_to(cora)) == before + 1  # nothing else reached the coordinator's chat
    with bot.session() as session:
        assert session.exec(select(func.count()).select_from(Invite)).one() == 1  # cora's own only
    await bot.press(cora, offer, "An HRD", r"Invite for a new human rights defender")


async def test_delete_message_rows_delete_on_telegram(bot: TelegramBot) -> None:
    api = bot.api
    amina = bot.user("amina")
    sent = amina.send_text("1234 my pin", date=bot.clock.now())
    assert sent is not None
    await api.wait_for_message(amina, STRANGER)
    own = sent["message"]["message_id"]
    bot.enqueue(amina, str(own), key="t:del-own", kind=DELETE_MESSAGE)
    await api.wait_for(lambda: (amina.id, own) in api.deleted, what="the user's message deleted")
    # A long text goes out in parts; deleting it deletes every part.
    long_text = ("word " * 1000 + "\n") * 2
    bot.enqueue(amina, long_text, key="t:long")
    # One part a second (Telegram's limit per chat), so a few seconds.
    row = await eventually(lambda: (r := bot.outbox_row("t:long")).platform_message_id and r, timeout=15)
    parts = [int(i) for i in row.platform_message_id.split(",")]
    assert len(parts) == len(split_text(long_text)) >= 3
    assert " ".join(texts(api, amina, "word")).split() == long_text.split()
    bot.enqueue(amina, row.platform_message_id, key="t:del-long", kind=DELETE_MESSAGE)
    await api.wait_for(lambda: all((amina.id, p) in api.deleted for p in parts), what="parts deleted")
    # Already gone (or never there): done, not retried.
    bot.enqueue(amina, "99999", key="t:del-gone", kind=DELETE_MESSAGE)
    gone = await eventually(lambda: (r := bot.outbox_row("t:del-gone")).delivered_at and r)
    assert gone.failed_at is None and gone.attempts == 1


async def test_webhook_mode_with_secret_token(api: FakeBotApi, sqlite_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    engine = make_engine(sqlite_url)
    bot = TelegramBot(api, engine, Kek.generate(), webhook_url=url, webhook_port=port)
    await bot.start()
    try:
        assert api.webhook["url"] == url
        secret = api.webhook["secret_token"]
        assert secret and len(secret) >= 32  # generated when none is configured
        amina = bot.user("amina")
        await bot.say(amina, "hello", STRANGER)
        forged = {"update_id": 1, "message": {"message_id": 99, "date": 0, "text": "/checkin",
                                               "chat": amina.chat_dict(), "from": amina.to_dict()}}
        async with aiohttp.ClientSession() as client:
            async with client.post(url, json=forged) as response:
                assert response.status == 403
            async with client.post(url, json=forged,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                assert response.status == 403
        await bot.say(amina, "hello again", STRANGER)
        assert len(texts(api, amina)) == 2
    finally:
        await bot.stop()
        engine.dispose()


async def test_start_and_polling_ride_out_bot_api_outages(api: FakeBotApi, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    bot = TelegramBot(api, engine, Kek.generate())
    api.fail("getMe", status=502, times=1)
    api.fail("getUpdates", status=500, times=2)
    await bot.start()  # getMe retried
    try:
        amina = bot.user("amina")
        await bot.say(amina, "hello", STRANGER, timeout=10)  # polling retried
        assert [c.status for c in api.calls_for("getMe")][:2] == [502, 200]
        assert [c.status for c in api.calls_for("getUpdates")][:2] == [500, 500]
    finally:
        await bot.stop()
        engine.dispose()


async def test_pin_messages_deleted_at_once_and_note_messages_after_delete_after_across_a_restart(
        bot: TelegramBot) -> None:
    api = bot.api
    cora, amina, paul = await bot.matched_trio()
    await bot.say(amina, "/pin", r"Choose a check-in PIN")
    first = amina.send_text("2468", date=bot.clock.now())
    await api.wait_for_message(amina, r"duress PIN")
    second = amina.send_text("1357", date=bot.clock.now())
    await api.wait_for_message(amina, r"PINs are set")
    checkin = amina.send_text("/checkin 2468 hiding at the market", date=bot.clock.now())
    await api.wait_for_message(amina, r"Checked in")
    for update in (first, second, checkin):
        assert update is not None
        message_id = update["message"]["message_id"]
        await api.wait_for(lambda m=message_id: (amina.id, m) in api.deleted, what="a PIN message deleted")
    bot.clock.advance(timedelta(days=1, hours=1, minutes=1))
    await bot.tick()
    alert = await api.wait_for_message(paul, r"(?s)ALERT #1.*hiding at the market")
    assert (paul.id, alert.message_id) not in api.deleted
    await bot.stop()  # the deletion is due while the bot is down
    bot.clock.advance(timedelta(hours=24))
    await bot.start()
    await bot.tick()
    await api.wait_for(lambda: (paul.id, alert.message_id) in api.deleted, what="the note message deleted")
