"""The express path of a check-in (c2p_bot.core.checkin_express) leaves the database and every
chat exactly as the general path does.

Each scenario runs twice from scratch on the same backend, with the same key and the same fake
clock: once as the bot runs (express path on), once with it off. Every row of every table must
be the same (random columns compared by what they hold: sealed notes opened, outbox bodies
opened, random key suffixes masked), every chat must have got the same messages, and every row
MAC must hold. The scenarios cover what the express path takes (plain, note, /ok, late, paused,
several identities, several readers) and what it must leave to the general path (a PIN, a
missed alert, a session, a guided conversation, a stale or replayed message, a group, a reader
without a key, a tampered match).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import Session, SQLModel

import tests.support.transcript as transcript
from c2p_bot.config import Config
from c2p_bot.core import checkin_express
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import Kek, open_sealed, unwrap_private
from c2p_bot.core.events import Incoming
from c2p_bot.core.integrity import FIELDS, MODELS, for_session
from c2p_bot.core.notes import note_context, person_context
from storage.engine import make_engine
from storage.models import Identity, Match, Person
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import CHECKIN_PIN, coordinator, hrd, partner, pins, trio
from tests.support.transcript import Chat, memory_chat

Scenario = Callable[[Chat], Awaitable[None]]
SECOND = timedelta(seconds=1)
RANDOM_KEY = re.compile(r":[0-9a-f]{16}$")
INVITE_CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
SKIPPED = {("person", "public_key"), ("person", "wrapped_private_key"), ("person", "mac"),
           ("person", "pin_hash"), ("person", "duress_hash"), ("invite", "code_hash"), ("secret", "blob"),
           ("outbox", "mac")}


async def _express_ones(chat: Chat) -> None:
    """What the express path takes."""
    await chat.say("amina", "/checkin")
    chat.clock.advance(HOUR)
    await chat.say("amina", "/checkin all calm at the office")
    chat.clock.advance(MINUTE)
    await chat.say("amina", "/ok")
    chat.clock.advance(DAY + 2 * HOUR - MINUTE)  # past alert_at, not swept yet: late
    await chat.say("amina", "/checkin sorry, late")
    await chat.say("amina", "/pause 2 days")
    chat.clock.advance(HOUR)
    await chat.say("amina", "/checkin back early")  # ends the pause
    chat.clock.advance(MINUTE)
    await chat.say("amina", "/checkin twice the same", event_id="same-event")
    await chat.say("amina", "/checkin twice the same", event_id="same-event")  # a replay: dropped
    chat.clock.advance(MINUTE)
    await chat.say("amina", "/checkin@c2pbot fine")


async def _more_readers_and_identities(chat: Chat) -> None:
    await coordinator(chat, "cleo")
    await partner(chat, "pia", kind="journalist")
    await chat.say("cora", "/match Amina Pia")
    await chat.press("pia", "Accept")
    with Session(chat.core.engine) as session:  # Amina on a second platform, seen "later" than now
        amina = session.execute(select(Identity).where(Identity.platform_user_id == "amina")).scalars().one()
        session.add(Identity(person_id=amina.person_id, platform="matrix", platform_user_id="@amina:x",
                             chat_id="!room:x", created_at=chat.clock.now() + HOUR))
        session.commit()
    await chat.say("amina", "/checkin with more readers")
    chat.clock.advance(2 * HOUR)
    await chat.say("amina", "/checkin later on")


async def _general_ones(chat: Chat) -> None:
    """What the express path leaves to the general path."""
    before = chat.clock.now()
    await chat.say("amina", "/checkin first")
    await chat.say("amina", "/checkin stale", sent_at=before - MINUTE)  # older than the last one
    await chat.say("amina", "/checkin in a group", private=False, chat_id="group-1")
    chat.clock.advance(DAY + 2 * HOUR)
    await chat.tick()  # the missed alert is raised
    await chat.say("amina", "/checkin here now")  # resolves it
    await chat.say("amina", "/session 3h court hearing")
    await chat.say("amina", "/checkin during the session")
    await chat.say("amina", "/session end")
    await chat.say("amina", "/plan")  # a guided conversation waits
    await chat.say("amina", "/checkin mid-conversation")
    chat.skip("amina")
    await pins(chat)
    await chat.say("amina", f"/checkin {CHECKIN_PIN} with a pin")


async def _reader_without_key(chat: Chat) -> None:
    with Session(chat.core.engine) as session:
        paul = session.execute(select(Person).where(Person.alias == "Paul")).scalars().one()
        paul.public_key = None  # through the ORM: its MAC still holds
        session.add(paul)
        session.commit()
    await chat.say("amina", "/checkin nobody can read this one")


async def _tampered_match(chat: Chat) -> None:
    with Session(chat.core.engine) as session:  # changed without the key: its MAC fails
        session.execute(update(Match).values(mac=b"forged"))
        session.commit()
    await chat.say("amina", "/checkin with a forged match")


async def _batched(chat: Chat) -> None:
    """Messages handed over at once (as a batch of Telegram updates is): a run of check-ins shares a
    transaction; the others go the general way, in order."""
    await hrd(chat, "bea")
    chat.clock.advance(HOUR)
    now = chat.clock.now()

    def message(user: str, text: str, number: int, sent_at: datetime) -> Incoming:
        return Incoming(platform=chat.transport.platform, sender_id=user, chat_id=user, text=text,
                        sent_at=sent_at, event_id=f"batch-{number}", message_id=f"b{number}")

    batch = [message("amina", "/checkin first of the batch", 1, now - 10 * SECOND),
             message("bea", "/checkin all fine here", 2, now),
             message("amina", "/checkin second of the batch", 3, now - 5 * SECOND),  # the same clock: a new run
             message("amina", "/status", 4, now),
             message("bea", "/ok", 5, now),  # stale: not later than bea's last
             message("amina", "/checkin first of the batch", 1, now - 10 * SECOND),  # a replay
             message("amina", "/checkin third", 6, now)]
    await asyncio.gather(*(chat.runtime.handle(one) for one in batch))
    await chat.runtime.drain()


SCENARIOS: dict[str, tuple[Scenario, list[int]]] = {  # scenario, the runs the express path takes
    "express": (_express_ones, [1] * 7),
    "readers_and_identities": (_more_readers_and_identities, [1, 1]),
    "general": (_general_ones, [1]),  # only "/checkin first"
    "reader_without_key": (_reader_without_key, []),
    "tampered_match": (_tampered_match, []),
    "batched": (_batched, [2, 1, 1]),  # amina's and bea's notes in one transaction, amina's next in another
}


def _rows(chat: Chat, kek: Kek) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, random columns replaced by what they hold."""
    keyring = chat.core.keyring
    dump: dict[str, list[dict[str, Any]]] = {}
    with Session(chat.core.engine) as session:
        connection = session.connection()
        people = {row.id: row for row in connection.execute(select(Person.__table__)).all()}  # type: ignore[call-overload]
        for table in SQLModel.metadata.sorted_tables:
            rows = []
            for row in connection.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                values = {name: value for name, value in row.items() if (table.name, name) not in SKIPPED}
                if table.name == "note_copy":
                    reader = people[row["reader_id"]]
                    private = unwrap_private(kek, reader.wrapped_private_key, person_context(reader.id))
                    values["ciphertext"] = open_sealed(row["ciphertext"], private,
                                                       note_context(row["note_id"], row["reader_id"]))
                if table.name == "outbox":
                    values["body"] = INVITE_CODE.sub("CODE", keyring.open(row["idempotency_key"], row["body"]))
                    values["idempotency_key"] = RANDOM_KEY.sub(":random", row["idempotency_key"])
                rows.append(values)
            dump[table.name] = rows
        _macs_hold(session)
    return dump


def _macs_hold(session: Session) -> None:
    integrity = for_session(session)
    assert integrity is not None
    for model, table in MODELS.items():
        columns = [getattr(model, name) for name in ("mac", *FIELDS[table])]
        query: Any = select(*columns)
        if table == "outbox":
            query = query.where(model.delivered_at.is_(None))  # type: ignore[attr-defined]
        for mac, *values in session.execute(query).all():
            if table == "match" and mac == b"forged":
                continue  # the tampered scenario's forged rows
            assert integrity.ok(table, values, mac), f"{table} row {values} has a MAC that fails"


async def _run(url: str, config: Config, kek: Kek, scenario: Scenario,
               express: bool) -> tuple[dict, dict, list[int]]:
    transcript._ids = itertools.count(1)  # the same event ids on both runs
    engine = make_engine(url)
    chat = memory_chat(engine, config, FakeClock(), kek)
    chat.core.bot_names.add("c2pbot")
    chat.core.keyring.integrity.clock = chat.clock.now  # the integrity reports' time too
    taken: list[int] = []
    path = chat.core.express
    assert path is not None, "the app wires the express path in"
    run = path.run

    def counting(incomings: Any, now: Any) -> list[datetime]:
        done = run(incomings, now)
        if done:
            taken.append(len(done))
        return done

    path.run = counting  # type: ignore[method-assign]
    chat.core.express = path if express else None
    await trio(chat)
    await scenario(chat)
    await chat.tick()
    chats = {user: [(INVITE_CODE.sub("CODE", m.text), m.buttons, m.priority) for m in messages]
             for user, messages in chat.transport.inbox.items()}
    rows = _rows(chat, kek)
    engine.dispose()
    return rows, chats, taken


@pytest.mark.parametrize("name", SCENARIOS)
async def test_the_express_path_writes_what_the_general_path_writes(
        name: str, db_url: str, second_url: str, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario, expected = SCENARIOS[name]
    monkeypatch.setattr(checkin_express, "GROUP_TIME", 60.0)  # a loaded machine must not split the runs
    kek = Kek.generate()
    express_rows, express_chats, taken = await _run(db_url, config, kek, scenario, express=True)
    general_rows, general_chats, none = await _run(second_url, config, kek, scenario, express=False)
    assert (taken, none) == (expected, [])
    for user in general_chats:
        for one, other in zip(express_chats[user], general_chats[user], strict=False):
            assert one == other, user
        assert express_chats[user] == general_chats[user], user
    assert express_chats == general_chats
    for table in general_rows:
        assert express_rows[table] == general_rows[table], f"table {table} differs"
