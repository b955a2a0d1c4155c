"""/forget leaves no chat id of the person in the database and pseudonymises their audit entries
(issue 13 L "less metadata"); the audit log stays append-only otherwise."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from storage.models import AuditEntry, Person
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.transcript import Chat

CHAT_ID = "tg-chat-55501234"  # the HRD's user and chat id on the platform
ALIAS = "Zqamina"


def dump(chat: Chat) -> str:
    """Every row of every table, as text (bytes decoded as Latin-1 so nothing is skipped)."""
    engine = chat.core.engine
    metadata = MetaData()
    metadata.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            parts.append(f"\n[{table.name}]\n")
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    parts.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
                    parts.append(" ")
                parts.append("\n")
    return "".join(parts)


async def setup(chat: Chat) -> int:
    await people.coordinator(chat)
    await people.hrd(chat, CHAT_ID, alias=ALIAS)
    await people.partner(chat)
    await chat.say("cora", f"/match {ALIAS} Paul")
    await chat.press("paul", "Accept")
    await chat.say(CHAT_ID, "/checkin all fine here")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()  # a missed check-in: alert, audit entries about the HRD
    await chat.say(CHAT_ID, "/status", event_id=f"m:{CHAT_ID}:9001")  # Telegram's de-duplication key
    with Session(chat.core.engine) as session:
        person = session.exec(select(Person).where(Person.alias == ALIAS)).one()
        assert person.id is not None
        return person.id


async def test_forget_leaves_no_chat_id_alias_or_person_reference(chat: Chat) -> None:
    person_id = await setup(chat)
    before = dump(chat)
    assert CHAT_ID in before and f"person:{person_id}" in before  # the test looks in the right place
    chat.skip(CHAT_ID)  # what setup() was told: pairing, check-in, status
    await chat.say(CHAT_ID, "/forget confirm", event_id=f"m:{CHAT_ID}:9002")
    chat.expect(CHAT_ID, r"erased")
    chat.clock.advance(MINUTE)
    await chat.tick()
    after = dump(chat)
    assert CHAT_ID not in after, [line for line in after.split("\n") if CHAT_ID in line][:5]
    assert ALIAS not in after
    with Session(chat.core.engine) as session:
        entries = session.exec(select(AuditEntry)).all()
    mine = re.compile(rf"\bperson:{person_id}\b")
    assert not [e for e in entries if e.actor_id == person_id or mine.search(f"{e.subject} {e.detail}")]
    forgotten = [e for e in entries if e.action == "person_forgotten"]
    assert len(forgotten) == 1 and (forgotten[0].subject or "").startswith("anon:")
    pseudonym = forgotten[0].subject
    # Their earlier entries are still there, under the same pseudonym: the log keeps its shape.
    assert [e.action for e in entries if pseudonym in f"{e.subject} {e.detail}"].count("checkin") == 1


async def test_the_audit_log_is_still_append_only(chat: Chat) -> None:
    await setup(chat)
    await chat.say(CHAT_ID, "/forget confirm")
    engine = chat.core.engine
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'x' WHERE id = 1"))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 1"))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:  # the gate is narrow
        conn.execute(text("INSERT INTO audit_rewrite (pseudonym) VALUES ('anon:zz')"))
        conn.execute(text("UPDATE audit_log SET action = 'x', detail = 'anon:zz' WHERE id = 1"))
