"""C2 — one reader's bad key must never break an alarm.

A partner or coordinator who registers a low-order point (32 zero bytes with a valid checksum)
used to make every seal raise: the HRD's panic with a note and duress check-in rolled back and
answered "Sorry, something went wrong" with no alert. Now ``/key`` refuses such keys, and a
bad key already in the database (an old row) is skipped: the alert goes out to everyone, the
others get the note, and the coordinators are told whose key is unusable.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from c2p_bot.core.crypto import encode_public_key, generate_keypair
from storage.models import NoteCopy, Person
from tests.support import people
from tests.support.people import pins, trio
from tests.support.queries import alerts
from tests.support.transcript import Chat

ZERO_KEY = encode_public_key(bytes(32))
ORDER_8 = encode_public_key(bytes.fromhex(
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"))
NOTE_PANIC = "hiding-at-the-clinic"
NOTE_DURESS = "taken-to-station-4"


async def _team(chat: Chat) -> None:
    """Cora and Cleo (coordinators), Amina (HRD) matched with Paul and Pete (partners)."""
    await trio(chat)
    await people.coordinator(chat, "cleo", alias="Cleo")
    await people.partner(chat, "pete", alias="Pete")
    await chat.say("cora", "/match Amina Pete")
    await chat.press("pete", "Accept")
    for user in ("cora", "cleo", "amina", "paul", "pete"):
        chat.skip(user)


def _break_key(chat: Chat, alias: str, key: bytes | None = bytes(32)) -> int:
    """An old row: the person's key was stored before /key checked points (or is missing)."""
    with Session(chat.core.engine) as session:
        person = session.exec(select(Person).where(Person.alias == alias)).one()
        person.public_key, person.wrapped_private_key, person.key_mode = key, None, "own"
        session.add(person)
        session.commit()
        assert person.id is not None
        return person.id


@pytest.mark.parametrize("key", [ZERO_KEY, ORDER_8], ids=["zero", "order8"])
async def test_key_refuses_low_order_points_kindly(chat: Chat, key: str) -> None:
    await trio(chat)
    for user in ("paul", "cora"):
        await chat.say(user, f"/key {key}")
        reply = chat.expect(user, r"cannot be used")
        assert "keygen" in reply.text and "wrong" not in reply.text.lower()
        await chat.say(user, "/key")
        chat.expect(user, r"a key this server keeps for you")  # nothing was changed
    good = encode_public_key(generate_keypair().public)
    await chat.say("paul", f"/key {good}")
    chat.expect("paul", r"Your key is registered")


@pytest.mark.parametrize("broken", ["Paul", "Cleo"])
async def test_a_bad_key_in_the_database_does_not_stop_panic_or_duress(chat: Chat, broken: str) -> None:
    await _team(chat)
    bad_id = _break_key(chat, broken)
    others = [u for u in ("paul", "pete", "cora", "cleo") if u != broken.lower()]

    await chat.say("amina", f"/panic {NOTE_PANIC}")
    chat.expect("amina", r"Alarm raised\.")
    assert "went wrong" not in "".join(m.text for m in chat.unread("amina"))
    (panic,) = alerts(chat)
    assert panic.kind == "panic"
    for user in others:
        chat.expect(user, rf"PANIC ALERT #{panic.id}.*{NOTE_PANIC}")
    bad_alert = chat.expect(broken.lower(), rf"PANIC ALERT #{panic.id}")  # the alarm still reaches them
    assert NOTE_PANIC not in bad_alert.text
    for user in ("cora", "cleo"):
        told = chat.expect(user, rf"{broken}.*unusable")
        assert "c2p-pk1" not in told.text and NOTE_PANIC not in told.text

    await pins(chat, "amina")
    chat.skip("amina")
    await chat.say("amina", f"/checkin 1357 {NOTE_DURESS}")
    (reply,) = chat.unread("amina")
    assert reply.text.startswith("Checked in. Thank you.")
    duress = [a for a in alerts(chat) if a.kind == "duress"]
    assert len(duress) == 1
    for user in others:
        chat.expect(user, rf"DURESS ALERT #{duress[0].id}.*{NOTE_DURESS}")
    assert NOTE_DURESS not in chat.expect(broken.lower(), rf"DURESS ALERT #{duress[0].id}").text
    with Session(chat.core.engine) as session:
        assert session.exec(select(NoteCopy).where(NoteCopy.reader_id == bad_id)).first() is None


async def test_a_reader_with_no_key_is_skipped_and_reported(chat: Chat) -> None:
    await _team(chat)
    _break_key(chat, "Pete", None)
    await chat.say("amina", f"/panic {NOTE_PANIC}")
    chat.expect("amina", r"Alarm raised")
    chat.expect("paul", rf"PANIC ALERT.*{NOTE_PANIC}")
    chat.expect("pete", r"PANIC ALERT")
    chat.expect("cora", r"🚨 PANIC ALERT #1: Amina raised the alarm at")
    chat.expect("cora", r"Pete.*unusable|no key")


async def test_the_report_is_sent_once_per_bad_key_not_per_note(chat: Chat) -> None:
    await _team(chat)
    _break_key(chat, "Paul")
    await chat.say("amina", "/checkin first")
    chat.expect("cora", r"Paul.*unusable")
    await chat.say("amina", "/checkin second")
    await chat.say("amina", "/panic third")
    assert not [m for m in chat.unread("cora") if "unusable" in m.text]
