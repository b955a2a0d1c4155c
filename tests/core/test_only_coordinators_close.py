"""Nothing but a coordinator's decision ends an escalation, and every weakening needs the PIN
(DESIGN invariants 3 and 5; found by the SECURITY.md review of issue 13)."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Alert, Person
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import pins, trio
from tests.support.transcript import Chat


async def test_a_partners_resolve_does_not_end_the_escalation(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed")
    await chat.say("paul", "/resolve 1 safe she called me, all fine")
    chat.expect("paul", r"coordinator.*close")
    chat.expect("cora", r"Paul asks to close alert #1 about Amina.*she called me, all fine.*/resolve 1")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Alert)).one().status != "resolved"
    chat.clock.advance(2 * HOUR + MINUTE)  # nobody closed it: it escalates again
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    await chat.say("cora", "/resolve 1 safe confirmed by her sister")
    chat.expect("cora", r"Alert #1 about Amina is resolved")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Alert)).one().status == "resolved"


async def test_notes_over_telegram_needs_the_pin(chat: Chat) -> None:
    await trio(chat)
    await pins(chat, "amina")
    chat.skip("amina")
    await chat.say("amina", "/profile notes_over_telegram=yes")
    chat.expect("amina", r"Send your check-in PIN to confirm")
    await chat.say("amina", "0000")
    chat.expect("amina", r"PIN is not right")
    with Session(chat.core.engine) as session:
        assert not session.exec(select(Person).where(Person.alias == "Amina")).one().notes_over_telegram
    await chat.say("amina", "/profile notes_over_telegram=yes")
    await chat.say("amina", "2468")
    chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
    chat.expect("amina", r"Saved: notes_over_telegram")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Person).where(Person.alias == "Amina")).one().notes_over_telegram
    await chat.say("amina", "/profile notes_over_telegram=no")  # tightening needs no PIN
    chat.expect("amina", r"Saved: notes_over_telegram")


async def test_every_new_coordinator_is_announced(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.coordinator(chat, "cleo")  # e.g. from `c2p-bot invite` or an invite row planted in the database
    chat.expect("cora", r"Cleo .*registered as a coordinator")
