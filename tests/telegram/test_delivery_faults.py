"""Sending through faults: 429 pauses one chat only, 5xx loses nothing, 403 fails over."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from c2p_bot.core.events import Priority
from storage.models import Identity, OutboxMessage
from tests.telegram.support import TelegramBot, eventually
from tests.telegram_api import FakeBotApi, FakeUser

# PTB warns from inside RetryAfter() about its coming int -> timedelta change; we handle both.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def started(bot: TelegramBot, *names: str) -> list[FakeUser]:
    """Users who have written to the bot (so it may write to them), with their reply read."""
    users = [bot.user(name) for name in names]
    for user in users:
        await bot.say(user, "hello", r"private service")
    return users


def sends_to(api: FakeBotApi, user: FakeUser) -> list[tuple[float, bool | None]]:
    """(monotonic time, ok) of every sendMessage to ``user``'s chat."""
    return [(c.monotonic, c.ok) for c in api.calls_for("sendMessage") if str(c.chat_id) == str(user.id)]


async def test_429_on_one_chat_delays_only_that_chat(bot: TelegramBot) -> None:
    api = bot.api
    amina, bob = await started(bot, "amina", "bob")
    api.fail("sendMessage", chat_id=amina, status=429, retry_after=2, times=1)
    bot.enqueue(amina, "for amina", key="t:a1")
    for n in range(1, 4):
        bot.enqueue(bob, f"for bob {n}", key=f"t:b{n}")
    for n in range(1, 4):
        await api.wait_for_message(bob, rf"for bob {n}", timeout=3)
    refused_at = next(t for t, ok in sends_to(api, amina) if ok is False)
    assert all(t < refused_at + 1.0 for t, _ in sends_to(api, bob))  # bob was not held back
    assert not [m for m in api.sent_to(amina) if m.text == "for amina"]
    await api.wait_for_message(amina, r"for amina", timeout=6)
    retried_at = sends_to(api, amina)[-1][0]
    assert retried_at - refused_at >= 1.9  # Telegram's retry_after was respected for amina
    row = await eventually(lambda: (r := bot.outbox_row("t:a1")).delivered_at and r, what="delivered")
    assert row.attempts == 2


async def test_server_errors_for_a_while_lose_nothing(bot: TelegramBot) -> None:
    api = bot.api
    amina, bob = await started(bot, "amina", "bob")
    fault = api.fail(None, status=502, times=None, for_seconds=1.5)  # every method but getUpdates
    started_at = time.monotonic()
    for n in range(3):
        bot.enqueue(amina, f"to amina {n}", key=f"t:a{n}")
        bot.enqueue(bob, f"to bob {n}", key=f"t:b{n}")
    amina.send_text("/help", date=bot.clock.now())  # its answer has to wait too
    await api.wait_for_message(amina, r"private service", timeout=10)
    for n in range(3):
        await api.wait_for_message(amina, rf"to amina {n}", timeout=10)
        await api.wait_for_message(bob, rf"to bob {n}", timeout=10)
    assert fault.hits >= 2
    assert time.monotonic() - started_at >= 1.4
    texts = [m.text for m in api.sent_to(amina) + api.sent_to(bob)]
    assert len(texts) == len(set(texts)) + 2  # each exactly once (the two "hello" answers repeat)

    def undelivered() -> list[OutboxMessage]:
        with bot.session() as session:
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.delivered_at == None)))  # noqa: E711

    await eventually(lambda: not undelivered(), what="every row marked delivered")


async def test_blocked_user_is_unreachable_and_messages_fail_over(api: FakeBotApi, sqlite_url: str) -> None:
    from c2p_bot.core.crypto import Kek
    from storage.engine import make_engine

    engine = make_engine(sqlite_url)
    bot = TelegramBot(api, engine, Kek.generate())
    await bot.start(memory=True)  # a second transport, for the person's second identity
    try:
        cora = await bot.onboard_coordinator()
        person = bot.person("Cora")
        with bot.session() as session:
            session.add(Identity(person_id=person.id or 0, platform="memory", platform_user_id="cora-m",
                                 chat_id="cora-m", created_at=bot.clock.now() - timedelta(days=1)))
            session.commit()
        cora.block()
        core = bot.runtime.core
        with core.session() as session:
            core.outbox.to_person(session, person, lambda _: "An urgent notice", now=bot.clock.now(),
                                  key="t:urgent", priority=Priority.ESCALATION, kind="notice")
            core.commit(session)
        memory = bot.memory
        assert memory is not None
        await eventually(lambda: memory.inbox["cora-m"], what="the failover delivery")
        assert [m.text for m in memory.inbox["cora-m"]] == ["An urgent notice"]
        assert bot.identity(cora).unreachable_at is not None
        refused = [c for c in api.calls_for("sendMessage") if c.status == 403]
        assert len(refused) == 1 and "blocked" in (refused[0].description or "")
        row = bot.outbox_row("t:urgent")
        assert row.failed_at is not None and row.delivered_at is None  # not retried on Telegram
        # From now on the person's messages go to the identity that still works.
        with core.session() as session:
            core.outbox.to_person(session, person, lambda _: "Next notice", now=bot.clock.now(),
                                  key="t:next", kind="notice")
            core.commit(session)
        await eventually(lambda: len(memory.inbox["cora-m"]) == 2, what="the second delivery")
        assert len([c for c in api.calls_for("sendMessage") if c.status == 403]) == 1
    finally:
        await bot.stop()
        engine.dispose()
