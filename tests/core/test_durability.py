"""Restarts, two sweepers, a dispatcher that dies mid-send, failover between identities."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.core.dispatcher import LEASE
from c2p_bot.core.events import DeliveryError
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.models import Alert, Identity, OutboxMessage, Person
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat


def second_process(chat: Chat, db_url: str) -> Chat:
    """Another bot process on the same database (same key-encryption key)."""
    engine = make_engine(db_url)
    runtime = build_runtime(chat.core.config, engine, chat.clock, chat.core.keyring)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    return Chat(runtime, transport)


async def test_restart_after_a_deadline_raises_exactly_one_alert(chat: Chat, db_url: str) -> None:
    await trio(chat)
    # The bot stops; time passes the deadline; a new process starts and reconciles.
    chat.clock.advance(DAY + 5 * HOUR)
    again = second_process(chat, db_url)
    await again.tick()
    await again.tick()
    again.expect("paul", r"ALERT #1: Amina missed a check-in")
    assert [a.kind for a in alerts(again)] == ["missed"]
    third = second_process(chat, db_url)
    await third.tick()
    assert len(alerts(third)) == 1
    assert len([m for m in again.transport.inbox["paul"] if "ALERT #" in m.text]) == 1


async def test_two_sweepers_at_once_raise_one_alert(chat: Chat, db_url: str) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    other = second_process(chat, db_url)
    sweepers = [chat.core.services["sweeper"], other.core.services["sweeper"]]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(sweeper) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            sweeper.sweep()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(alerts(chat)) == 1
    with Session(chat.core.engine) as session:
        to_paul = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "alert")).all()
    assert len(to_paul) == 1


async def test_dispatcher_killed_after_sending_resends_with_the_same_key(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.runtime.tick()  # alert queued, not sent yet
    dispatcher = chat.runtime.dispatchers["memory"]
    # Simulate a crash between the send and the commit that marks it delivered.
    original = dispatcher._delivered
    dispatcher._delivered = lambda row, platform_id: None  # type: ignore[method-assign]
    await dispatcher.step(ignore_pacing=True)
    dispatcher._delivered = original  # type: ignore[method-assign]
    first = chat.transport.sent_keys[-1]
    assert first.startswith("alert:1:to:")
    await chat.runtime.drain()
    assert chat.transport.sent_keys.count(first) == 1  # leased: not re-sent at once
    chat.clock.advance(LEASE + timedelta(seconds=1))
    await chat.runtime.drain()
    assert chat.transport.sent_keys.count(first) == 2  # re-sent once, same idempotency key
    with Session(chat.core.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == first)).one()
        assert row.delivered_at is not None and row.body == b""
    await chat.runtime.drain()
    assert chat.transport.sent_keys.count(first) == 2


async def test_transient_failures_are_retried_with_backoff(chat: Chat) -> None:
    await trio(chat)
    chat.transport.failures["cora"] = DeliveryError("502 Bad Gateway")
    await chat.say("cora", "/people")
    assert "People registered" not in " ".join(m.text for m in chat.unread("cora"))
    del chat.transport.failures["cora"]
    chat.clock.advance(timedelta(seconds=3))
    await chat.runtime.drain()
    chat.expect("cora", r"People registered")


async def test_unreachable_identity_fails_over_to_another(chat: Chat) -> None:
    await trio(chat)
    with Session(chat.core.engine) as session:
        paul = session.exec(select(Person).where(Person.alias == "Paul")).one()
        session.add(Identity(person_id=paul.id or 0, platform="memory", platform_user_id="paul-2",
                             chat_id="paul-2", created_at=chat.clock.now() - DAY))
        session.commit()
    chat.transport.failures["paul"] = DeliveryError("Forbidden: bot was blocked by the user", permanent=True)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul-2", r"ALERT #1: Amina missed")
    chat.expect_nothing("cora")  # the partner was reached, so no early escalation
    with Session(chat.core.engine) as session:
        blocked = session.exec(select(Identity).where(Identity.platform_user_id == "paul")).one()
        assert blocked.unreachable_at is not None


async def test_unreachable_partner_moves_the_chain_on_at_once(chat: Chat) -> None:
    await trio(chat)
    chat.transport.failures["paul"] = DeliveryError("Forbidden: bot was blocked by the user", permanent=True)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")  # without waiting for ack_timeout
    with Session(chat.core.engine) as session:
        alert = session.exec(select(Alert)).one()
        assert alert.step == 1


async def test_a_burst_of_missed_deadlines_is_claimed_in_bounded_batches(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven HRDs miss the same deadline; with batches of three the sweeper raises seven alerts
    in three transactions of at most three (on PostgreSQL a LIMIT inside IN (…) rescanned by a
    nested loop had claimed a whole burst in one batch, quadratically slowly)."""
    import c2p_bot.core.sweeper as sweeper_module

    await people.coordinator(chat)
    for i in range(7):
        await people.hrd(chat, f"h{i}", alias=f"Hrd{i}")
    monkeypatch.setattr(sweeper_module, "DEADLINE_BATCH", 3)
    escalation = chat.core.escalation
    batches: list[int] = []
    raise_batch = escalation.raise_missed_batch

    def counting(session, claimed, now, coordinating=None):  # type: ignore[no-untyped-def]
        batches.append(len(claimed))
        return raise_batch(session, claimed, now, coordinating)

    monkeypatch.setattr(escalation, "raise_missed_batch", counting)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    assert batches == [3, 3, 1]
    assert len(alerts(chat)) == 7
    chat.expect("cora", r"No partner fits Hrd6's need for a lawyer")
    digest = chat.expect("cora", r"ALERT #\d+: Hrd\d missed a check-in")  # one message lists all
    for i in range(7):
        assert re.search(rf"ALERT #\d+: Hrd{i} missed a check-in", digest.text)
    assert len(digest.buttons) == 7
    chat.expect("cora", r"Possible connectivity shutdown in Kenya: 7 defenders")  # seven in one country at once
    chat.expect_nothing("cora")


async def test_a_claim_without_its_alert_is_never_committed(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """If raising the alert fails after the clock was claimed, the claim rolls back with it and
    the next sweep raises the alert (SQLite once committed a claim written as WITH … UPDATE on
    its own: Python's sqlite3 opened no transaction for it, and a crash lost the alert)."""
    await trio(chat)
    escalation = chat.core.escalation
    raise_batch = escalation.raise_missed_batch

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(escalation, "raise_missed_batch", failing)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    assert alerts(chat) == []
    assert clock_of(chat).state == "ok"  # not left claimed without an alert
    monkeypatch.setattr(escalation, "raise_missed_batch", raise_batch)
    await chat.tick()
    assert [a.kind for a in alerts(chat)] == ["missed"]
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")
