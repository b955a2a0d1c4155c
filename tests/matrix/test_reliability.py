"""Re-delivered events, undecryptable messages, idempotent sends and deletions, device trust."""

from __future__ import annotations

import asyncio
import time

import pytest
from nio import AsyncClient, LoginResponse
from sqlmodel import Session, func, select

from c2p_bot.core.events import DELETE_MESSAGE, Outgoing
from c2p_bot.transports.matrix.cross_signing import bootstrap_cross_signing
from storage.models import AuditEntry, SeenEvent
from tests.support.durations import MINUTE
from tests.support.matrix import BotFactory, HumanFactory, onboard_coordinator, outbox_row, queue, raw_timeline
from tests.synapse.helpers import DEFAULT_PASSWORD, client_config

pytestmark = pytest.mark.synapse


async def test_event_delivered_again_after_a_crash_is_handled_once(
    db_url: str, make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(database_url=db_url)
    ada = await make_human("ada", bot)
    await ada.ask("first", r"private service")
    assert bot.transport is not None
    sync_file = bot.transport.store_path / "c2p-sync.json"
    before = sync_file.read_text()

    event_id = await ada.say("second")
    await ada.expect(r"private service")
    # A crash after nio saved its sync token but before the bot handed the events over: the
    # next start syncs again from the last token whose events were all handed over.
    await bot.stop()
    sync_file.write_text(before)
    await bot.start()
    await asyncio.sleep(1.0)
    await ada.pump()

    handed = [incoming for incoming in bot.handed_over if incoming.event_id == event_id]
    assert len(handed) == 2, "the event came again after the restart"
    with Session(bot.engine) as session:
        seen = session.exec(select(func.count()).select_from(SeenEvent).where(
            SeenEvent.platform == "matrix", SeenEvent.event_key == event_id)).one()
    assert seen == 1
    assert len([m for m in ada.inbox if "private service" in m.body]) == 2  # one per message


async def test_undecryptable_message_gets_a_please_resend(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(undecryptable_timeout="1s")
    ada = await make_human("ada", bot)
    client = ada.client
    deadline = time.monotonic() + 10
    while not list(client.device_store.active_user_devices(bot.user_id)):
        assert time.monotonic() < deadline
        await ada.pump()
    for device in list(client.device_store.active_user_devices(bot.user_id)):
        client.blacklist_device(device)  # her app withholds the room key from the bot

    await ada.say("can you read this?")
    message = await ada.expect(r"could not read a message you sent me.*send it again")
    assert message.room_id == ada.room_id
    assert bot.transport is not None and bot.transport.undecryptable_count == 1
    assert not [i for i in bot.handed_over if i.text == "can you read this?"]

    for device in list(client.device_store.active_user_devices(bot.user_id)):
        client.unblacklist_device(device)
    await ada.ask("and this?", r"private service")
    assert bot.transport.undecryptable_count == 1


async def test_retried_send_is_not_duplicated_and_deletion_redacts(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot()
    ada = await make_human("ada", bot)
    assert bot.transport is not None and ada.room_id is not None
    client = bot.transport.client
    assert client is not None
    for _ in range(200):  # the bot accepts the invitation on its next sync
        if ada.room_id in client.rooms:
            break
        await asyncio.sleep(0.05)
    outgoing = Outgoing(outbox_id=1, platform="matrix", chat_id=ada.room_id, text="only once",
                        idempotency_key="test:once")
    first = await bot.transport.deliver(outgoing)
    again = await bot.transport.deliver(outgoing)  # e.g. after a lease ran out
    assert first == again
    await ada.expect("only once")
    events = await raw_timeline(ada.client, ada.room_id)
    sent = [e["event_id"] for e in events if e["sender"] == bot.user_id and e["type"] == "m.room.encrypted"]
    assert sent == [first]

    secret = await ada.say("my PIN is 4242")
    await asyncio.sleep(0.5)
    with bot.core.session() as session:
        bot.core.outbox.to_chat(session, platform="matrix", chat_id=ada.room_id, text=secret,
                                now=bot.clock.now(), key="test:delete", kind=DELETE_MESSAGE)
        bot.core.commit(session)
    row = await outbox_row(bot, "test:delete")
    assert row.delivered_at is not None, row.last_error
    (redacted,) = [e for e in await raw_timeline(ada.client, ada.room_id) if e["event_id"] == secret]
    assert redacted["content"] == {}
    assert "redacted_because" in redacted.get("unsigned", {})


async def test_sensitive_messages_wait_for_verified_devices(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot(require_verified_devices=True)
    ada = await make_human("ada", bot)
    assert ada.room_id is not None
    queue(bot, ada.room_id, "ordinary news", "test:plain")
    with bot.core.session() as session:
        bot.core.outbox.to_chat(session, platform="matrix", chat_id=ada.room_id, text="the case logbook",
                                now=bot.clock.now(), key="test:sensitive", sensitive=True)
        bot.core.commit(session)
    await ada.expect("ordinary news")
    row = await outbox_row(bot, "test:sensitive", timeout=10, until=lambda r: bool(r.last_error))
    assert row.delivered_at is None and row.failed_at is None  # held back, retried later
    assert "unverified device" in (row.last_error or "")
    assert ada.client.device_id in (row.last_error or "")

    # Her device becomes cross-signed by her own identity: the message goes on the next try.
    await bootstrap_cross_signing(ada.client, DEFAULT_PASSWORD)
    bot.clock.advance(10 * MINUTE)
    await ada.expect("the case logbook")


async def test_new_device_of_a_coordinator_is_reported(
    make_bot: BotFactory, make_human: HumanFactory, tmp_path: object
) -> None:
    bot = await make_bot()
    cora = await make_human("cora", bot)
    await onboard_coordinator(bot, cora, "Cora")
    await cora.ask("/help", r".")  # the bot has seen her devices by now

    second = AsyncClient(bot.synapse.base_url, cora.user_id, store_path=str(tmp_path), config=client_config())
    try:
        assert isinstance(await second.login(DEFAULT_PASSWORD, device_name="unknown phone"), LoginResponse)
        await second.keys_upload()
        notice = await cora.expect(r"Security notice: the Matrix account .* has a new device", timeout=30)
        assert cora.user_id in notice.body and str(second.device_id) in notice.body
    finally:
        await second.close()
    with Session(bot.engine) as session:
        details = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "matrix_new_device")).all()
    assert details == [second.device_id]
