"""Rooms: never a message in the clear, strangers' rooms left after the timeout, groups declined,
a DM opened for a person who has no room with the bot."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomPreset
from sqlmodel import Session, select

from storage.models import Identity
from tests.support.matrix import (
    BotFactory,
    BotHarness,
    Human,
    HumanFactory,
    onboard_coordinator,
    outbox_row,
    queue,
    raw_timeline,
)
from tests.synapse.helpers import MEGOLM, sync_until

pytestmark = pytest.mark.synapse


def bot_plain_messages(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    return [e for e in events if e["sender"] == bot and e["type"] == "m.room.message"]


def bot_encrypted(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    return [e for e in events if e["sender"] == bot and e["type"] == "m.room.encrypted"]


async def unencrypted_dm(human: Human, bot: str, preset: RoomPreset) -> str:
    response = await human.client.room_create(is_direct=True, preset=preset, invite=[bot])
    assert isinstance(response, RoomCreateResponse), response
    await sync_until(human.client, lambda _: response.room_id in human.client.rooms)
    return response.room_id


async def membership(client: AsyncClient, room_id: str, user_id: str) -> str | None:
    state = await client.room_get_state_event(room_id, "m.room.member", user_id)
    return getattr(state, "content", {}).get("membership")


async def test_nothing_is_ever_sent_into_an_unencrypted_room(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot()

    # A DM in which both are admins: the bot turns encryption on before answering.
    ada = await make_human("ada", bot, open_dm=False)
    room = await unencrypted_dm(ada, bot.user_id, RoomPreset.trusted_private_chat)
    await sync_until(ada.client, lambda _: bot.user_id in ada.client.rooms[room].users
                     and not ada.client.rooms[room].invited_users.get(bot.user_id))
    await ada.say("hello?", room_id=room)
    reply = await ada.expect(r"private service")
    assert reply.room_id == room
    await sync_until(ada.client, lambda _: ada.client.rooms[room].encrypted)
    events = await raw_timeline(ada.client, room)
    assert any(e["type"] == "m.room.encryption" and e["sender"] == bot.user_id for e in events)
    assert bot_plain_messages(events, bot.user_id) == []
    assert bot_encrypted(events, bot.user_id)

    # A DM in which the bot may not turn encryption on: it answers in a new encrypted DM instead.
    ben = await make_human("ben", bot, open_dm=False)
    room = await unencrypted_dm(ben, bot.user_id, RoomPreset.private_chat)
    await sync_until(ben.client, lambda _: bot.user_id in ben.client.rooms[room].users
                     and not ben.client.rooms[room].invited_users.get(bot.user_id))
    await ben.say("hello?", room_id=room)
    reply = await ben.expect(r"private service")
    assert reply.room_id != room
    assert ben.client.rooms[reply.room_id].encrypted
    assert bot_plain_messages(await raw_timeline(ben.client, room), bot.user_id) == []
    assert bot_plain_messages(await raw_timeline(ben.client, reply.room_id), bot.user_id) == []


async def test_strangers_rooms_are_left_after_the_timeout_and_groups_declined(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(stranger_timeout="3s")
    stranger = await make_human("stranger", bot)
    await stranger.ask("hi, who are you?", r"This is a private service\. If you were given an invite code")
    # The bot restarts (join times are kept in memory only): it reviews its rooms at start.
    await bot.restart()
    started = time.monotonic()
    member = await make_human("member", bot)
    await onboard_coordinator(bot, member, "Mia")

    assert stranger.room_id and member.room_id
    room = stranger.room_id
    rooms = stranger.client.rooms
    await sync_until(stranger.client, lambda _: bot.user_id not in rooms[room].users, timeout=15)
    assert time.monotonic() - started >= 2.5, "left before the timeout"
    assert await membership(stranger.client, stranger.room_id, bot.user_id) == "leave"
    # The registered member's room is kept.
    assert await membership(member.client, member.room_id, bot.user_id) == "join"

    # An invitation to a group room is declined.
    other = await make_human("other", bot, open_dm=False)
    response = await stranger.client.room_create(invite=[bot.user_id, other.user_id], name="a group")
    assert isinstance(response, RoomCreateResponse)
    group = response.room_id
    deadline = time.monotonic() + 15
    while await membership(stranger.client, group, bot.user_id) != "leave":
        assert time.monotonic() < deadline, "the bot did not decline the group invitation"
        await stranger.pump()


async def registered_identity(bot: BotHarness, user_id: str) -> Identity:
    with Session(bot.engine) as session:
        return session.exec(select(Identity).where(Identity.platform_user_id == user_id)).one()


def forget_room(bot: BotHarness, user_id: str) -> Identity:
    """The identity only knows the user id (say its record came back from an old backup)."""
    with Session(bot.engine, expire_on_commit=False) as session:
        identity = session.exec(select(Identity).where(Identity.platform_user_id == user_id)).one()
        identity.chat_id = user_id
        session.add(identity)
        session.commit()
    return identity


async def test_message_to_a_user_id_uses_or_opens_an_encrypted_dm(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot()
    cora = await make_human("cora", bot)
    await onboard_coordinator(bot, cora, "Cora")
    assert cora.room_id is not None

    # An existing encrypted DM with her is reused.
    identity = forget_room(bot, cora.user_id)
    queue(bot, cora.user_id, "Hello Cora\nline two", "test:dm-1", identity)
    message = await cora.expect(r"Hello Cora")
    assert message.room_id == cora.room_id
    assert message.formatted == "Hello Cora<br>line two"
    assert (await registered_identity(bot, cora.user_id)).chat_id == cora.room_id

    # She leaves that chat: a message for the old room fails for good (the core fails over) ...
    await cora.client.room_leave(cora.room_id)
    await asyncio.sleep(0.5)
    queue(bot, cora.room_id, "Into the old room", "test:dm-2", identity)
    row = await outbox_row(bot, "test:dm-2")
    assert row.failed_at is not None and row.delivered_at is None
    assert "left" in (row.last_error or "")

    # ... and a message for her user id opens a new encrypted DM, which becomes her chat.
    forget_room(bot, cora.user_id)
    queue(bot, cora.user_id, "Hello again", "test:dm-3", identity)
    message = await cora.expect(r"Hello again")
    assert message.room_id != cora.room_id
    assert cora.client.rooms[message.room_id].encrypted
    assert (await registered_identity(bot, cora.user_id)).chat_id == message.room_id
    assert bot_plain_messages(await raw_timeline(cora.client, message.room_id), bot.user_id) == []


async def test_only_messages_meant_for_the_bot_are_handled(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(undecryptable_timeout="1s")
    ada = await make_human("ada", bot, open_dm=False)
    # History from before the bot was invited is not the bot's business (and it has no key for it).
    response = await ada.client.room_create(
        is_direct=True, preset=RoomPreset.trusted_private_chat,
        initial_state=[{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}])
    assert isinstance(response, RoomCreateResponse)
    room = response.room_id
    await sync_until(ada.client, lambda _: room in ada.client.rooms and ada.client.rooms[room].encrypted)
    await ada.say("written before the bot was invited", room_id=room)
    await ada.client.room_invite(room, bot.user_id)
    await sync_until(ada.client, lambda _: bot.user_id in ada.client.rooms[room].users
                     and not ada.client.rooms[room].invited_users.get(bot.user_id))
    ada.client.rooms[room].members_synced = False
    await ada.say("hello bot", room_id=room)
    await ada.expect(r"private service")

    # A message in the clear in an encrypted room can only be forged (say by the server): ignored.
    assert bot.transport is not None
    path = f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/plain-{time.time_ns()}"
    forged = await ada.client.send("PUT", path, json.dumps({"msgtype": "m.text", "body": "/help"}),
                                   {"Authorization": f"Bearer {ada.client.access_token}"})
    assert forged.status == 200
    forged.release()
    await ada.say("and now?", room_id=room)
    await ada.expect(r"private service")
    await asyncio.sleep(1.5)  # past undecryptable_timeout
    await ada.pump()

    texts = [incoming.text for incoming in bot.handed_over]
    assert texts == ["hello bot", "and now?"]
    assert bot.transport.ignored_plaintext == 1
    assert bot.transport.undecryptable_count == 0
    assert not [m for m in ada.inbox if "could not read" in m.body]
