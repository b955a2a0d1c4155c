"""Sending through faults: a 429 reaches the dispatcher as retry_after and is waited out, 5xx
loses nothing, 403 fails over. Production pacing against the fake's real limits."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from c2p_bot.core.events import DeliveryError, Outgoing, Priority
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


def errors_reaching_the_dispatcher(bot: TelegramBot) -> list[DeliveryError]:
    """Record every DeliveryError the transport raises to its dispatcher."""
    transport, seen = bot.transport, []
    deliver = transport.deliver

    async def spy(message: Outgoing) -> str | None:
        try:
            return await deliver(message)
        except DeliveryError as error:
            seen.append(error)
            raise

    transport.deliver = spy  # type: ignore[method-assign]
    return seen


async def test_telegrams_own_429_reaches_the_dispatcher_as_retry_after(bot: TelegramBot) -> None:
    """The strict fake's per-chat limit (1/s), hit because a message went to the chat outside
    the dispatcher's pacing: the dispatcher gets retry_after (no scope: Telegram does not say
    which limit it was), waits, and the message goes out; nothing counts as a failed attempt."""
    api = bot.api
    (amina,) = await started(bot, "amina")
    await asyncio.sleep(1.1)
    errors = errors_reaching_the_dispatcher(bot)
    outside = Outgoing(outbox_id=0, platform="telegram", chat_id=str(amina.id), text="sent aside")
    await bot.transport.deliver(outside)  # e.g. by another worker: the dispatcher cannot know
    bot.enqueue(amina, "paced", key="t:paced")
    await api.wait_for_message(amina, r"^paced$", timeout=8)
    assert [(e.retry_after, e.permanent, e.scope) for e in errors] == [(1.0, False, None)]
    assert errors[0].reason.startswith("telegram 429")
    refused = [c for c in api.calls_for("sendMessage") if c.status == 429]
    delivered = [c for c in api.calls_for("sendMessage") if c.ok and c.params.get("text") == "paced"]
    assert len(refused) == 1 and delivered[0].monotonic - refused[0].monotonic >= 0.95
    row = await eventually(lambda: (r := bot.outbox_row("t:paced")).delivered_at and r, what="delivered")
    assert row.attempts <= 1  # a rate limit is not a failed attempt


async def test_a_429_is_waited_out_and_loses_nothing(bot: TelegramBot) -> None:
    api = bot.api
    amina, bob = await started(bot, "amina", "bob")
    errors = errors_reaching_the_dispatcher(bot)
    api.fail("sendMessage", chat_id=amina, status=429, retry_after=2, times=1)
    bot.enqueue(amina, "for amina", key="t:a1")
    for n in range(1, 4):
        bot.enqueue(bob, f"for bob {n}", key=f"t:b{n}")
    for n in range(1, 4):
        await api.wait_for_message(bob, rf"for bob {n}", timeout=10)
    await api.wait_for_message(amina, r"for amina", timeout=10)
    refused_at = next(t for t, ok in sends_to(api, amina) if ok is False)
    retried_at = sends_to(api, amina)[-1][0]
    assert retried_at - refused_at >= 1.9  # Telegram's retry_after was respected
    assert [(e.retry_after, e.permanent) for e in errors] == [(2.0, False)]
    row = await eventually(lambda: (r := bot.outbox_row("t:a1")).delivered_at and r, what="delivered")
    assert row.attempts <= 1  # a rate limit is not a failed attempt


async def test_server_errors_for_a_while_lose_nothing(bot: TelegramBot) -> None:
    api = bot.api
    amina, bob = await started(bot, "amina", "bob")
    # Every method but getUpdates; 3 s, so a retry backed off 1-2 s after the first 502 still
    # lands inside the outage (with 1.5 s, a first send late in the window left one hit).
    fault = api.fail(None, status=502, times=None, for_seconds=3.0)
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
