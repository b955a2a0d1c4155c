"""Ids are never reused, on SQLite and PostgreSQL (issue 12, item 4).

Alert, person, identity, match, proposal and outbox ids go into outbox idempotency keys
(``alert:{id}:to:{person}:r0``...). If a deleted id came back, the new row's messages would
collide with the old keys and never be sent. On SQLite that needs AUTOINCREMENT: without it
a new row takes max(id) + 1, so deleting the newest rows (``/forget``) hands their ids out again.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

import storage.models  # noqa: F401  (registers the tables)
from storage.models import Alert, Person
from tests.support import people
from tests.support.transcript import Chat


def _id_tables() -> list[str]:
    return sorted(
        table.name for table in SQLModel.metadata.sorted_tables
        if "id" in table.c and table.c.id.primary_key
    )


async def test_forgotten_hrds_alert_number_is_not_reused(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await people.hrd(chat, "bea", alias="Bea")
    await people.partner(chat)
    for hrd in ("Amina", "Bea"):
        await chat.say("cora", f"/match {hrd} Paul")
        chat.expect("cora", rf"I asked Paul whether they will support {hrd}")
        await chat.press("paul", "Accept")
        chat.expect("cora", rf"Matched {hrd} with Paul")
    for user in ("cora", "amina", "bea", "paul"):
        chat.skip(user)

    await chat.say("bea", "/panic")
    chat.expect("bea", r"Alarm raised\.")
    chat.expect("paul", r"PANIC ALERT #1: Bea")
    chat.expect("cora", r"PANIC ALERT #1: Bea")
    await chat.say("paul", "/ack 1")
    chat.expect("cora", r"Paul acknowledged alert #1")
    await chat.say("bea", "/forget confirm")  # erases Bea's alerts: #1 is the newest
    chat.expect("bea", r"erased")
    for user in ("cora", "paul"):
        chat.skip(user)

    await chat.say("amina", "/panic")
    chat.expect("amina", r"Alarm raised\.")
    chat.expect("paul", r"PANIC ALERT #2: Amina")
    chat.expect("cora", r"PANIC ALERT #2: Amina")
    await chat.say("paul", "/ack 2")
    chat.expect("paul", r"You acknowledged alert #2 about Amina")
    chat.expect("cora", r"Paul acknowledged alert #2")
    with Session(chat.core.engine) as session:
        assert [a.id for a in session.exec(select(Alert)).all()] == [2]


async def test_forgotten_persons_id_is_not_reused(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    with Session(chat.core.engine) as session:
        amina_id = session.exec(select(Person.id).where(Person.alias == "Amina")).one()
    await chat.say("amina", "/forget confirm")
    await people.hrd(chat, "bea", alias="Bea")
    with Session(chat.core.engine) as session:
        bea_id = session.exec(select(Person.id).where(Person.alias == "Bea")).one()
    assert bea_id is not None and amina_id is not None and bea_id > amina_id


async def test_every_id_column_comes_from_a_never_reused_counter(chat: Chat) -> None:
    engine = chat.core.engine
    tables = _id_tables()
    assert {"alert", "person", "identity", "outbox", "match", "proposal"} <= set(tables)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            for table in tables:
                sql = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                    {"t": table}).scalar_one()
                assert "AUTOINCREMENT" in sql.upper(), table
        else:
            for table in tables:
                sequence = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{table}"'}).scalar_one()
                assert sequence, table
