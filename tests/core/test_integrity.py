"""Database write access without the key cannot redirect alerts or grant access (issue 13 M).

Each test edits a row behind the bot's back, as someone with write access to the database but
not the key-encryption key would: the alert does not reach the attacker's chat, a forged role
gets nothing, and every coordinator is told (once).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from c2p_bot.core.crypto import encode_public_key, generate_keypair
from c2p_bot.core.integrity import seal_existing
from storage.models import AuditEntry, Note, NoteCopy, OutboxMessage, Person, Secret
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import Chat

TOLD = r"Integrity check failed"


def sealed(chat: Chat) -> None:
    """What `c2p-bot run` does at start: every existing row gets its MAC, once."""
    chat.core.keyring.integrity.clock = chat.clock.now
    seal_existing(chat.core.engine, chat.clock.now())


def tamper(chat: Chat, sql: str, **params: object) -> None:
    with chat.core.engine.begin() as connection:
        assert connection.execute(text(sql), params).rowcount >= 1


def person_id(chat: Chat, alias: str) -> int:
    with Session(chat.core.engine) as session:
        return session.exec(select(Person.id).where(Person.alias == alias)).one() or 0


def refusals(chat: Chat) -> list[str]:
    with Session(chat.core.engine) as session:
        return [e.subject or "" for e in session.exec(
            select(AuditEntry).where(AuditEntry.action == "integrity_refused")).all()]


async def missed_checkin(chat: Chat) -> None:
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()


async def test_redirected_chat_id_gets_no_alert_and_coordinators_are_told(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    tamper(chat, "UPDATE identity SET chat_id = 'mallory' WHERE platform_user_id = 'paul'")
    await missed_checkin(chat)
    chat.expect_nothing("mallory")
    chat.expect("cora", TOLD + r".*chat account")
    assert refusals(chat) == [f"identity:{person_id(chat, 'Paul')}"] or len(refusals(chat)) == 1
    await chat.say("amina", "/panic")  # the other path (raise_alert) refuses it too
    chat.expect_nothing("mallory")
    chat.expect("cora", r"PANIC")
    chat.expect_nothing("cora")  # told once per row, not once per alert
    assert len(refusals(chat)) == 1


async def test_a_missing_mac_after_sealing_is_refused(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    tamper(chat, "UPDATE identity SET chat_id = 'mallory', mac = NULL WHERE platform_user_id = 'paul'")
    await chat.say("amina", "/panic")
    chat.expect_nothing("mallory")
    chat.expect("cora", r"PANIC ALERT #1: Amina raised the alarm")  # the alarm first, then the report
    chat.expect("cora", TOLD)


async def test_a_hijacked_account_is_a_stranger(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    tamper(chat, "UPDATE identity SET platform_user_id = 'mallory', chat_id = 'mallory' "
                 "WHERE platform_user_id = 'cora'")
    await chat.say("mallory", "/audit")
    chat.expect("mallory", r"^This is a private service")
    assert len(refusals(chat)) == 1


async def test_redirected_outbox_row_is_not_sent(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    with chat.core.session() as session:
        paul = session.get(Person, person_id(chat, "Paul"))
        assert paul is not None
        chat.core.outbox.to_person(session, paul, lambda _: "queued for Paul", now=chat.clock.now(),
                                   key="test:queued")
        session.commit()
    tamper(chat, "UPDATE outbox SET chat_id = 'mallory' WHERE idempotency_key = 'test:queued'")
    await chat.runtime.drain()
    await chat.runtime.drain()  # the report is queued as the refusal commits (dispatchers poll each second)
    chat.expect_nothing("mallory")
    chat.expect_nothing("paul")
    chat.expect("cora", TOLD + r".*queued message")
    with Session(chat.core.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:queued")).one()
        assert row.failed_at is not None and row.delivered_at is None


async def test_a_swapped_public_key_gets_no_sealed_copy_and_no_alert(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    attacker = generate_keypair()
    with chat.core.engine.begin() as connection:
        connection.execute(text("UPDATE person SET public_key = :key, key_mode = 'own' WHERE alias = 'Paul'"),
                           {"key": attacker.public})
    await chat.say("amina", "/checkin the meeting is at the church")
    chat.expect("amina", r"Checked in")
    paul = person_id(chat, "Paul")
    with Session(chat.core.engine) as session:
        note = session.exec(select(Note)).one()
        assert session.exec(select(NoteCopy).where(NoteCopy.note_id == note.id,
                                                   NoteCopy.reader_id == paul)).first() is None
    chat.expect("cora", TOLD + r".*person")
    await missed_checkin(chat)
    assert all("church" not in m.text for m in chat.unread("paul"))
    assert encode_public_key(attacker.public)  # (the attacker's key was a valid one)


async def test_a_forged_role_gets_nothing(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    tamper(chat, "UPDATE person SET role = 'coordinator' WHERE alias = 'Paul'")
    await chat.say("paul", "/audit")
    assert all("audit entries" not in m.text for m in chat.unread("paul"))
    await chat.say("amina", "/checkin secret plans")
    paul = person_id(chat, "Paul")
    with Session(chat.core.engine) as session:
        assert session.exec(select(NoteCopy).where(NoteCopy.reader_id == paul)).first() is None
    chat.expect("cora", TOLD)


async def test_a_forged_match_gets_no_alert(chat: Chat) -> None:
    await trio(chat)
    await people.partner(chat, "pete", kind="journalist")
    sealed(chat)
    chat.skip("pete")
    tamper(chat, "INSERT INTO match (hrd_id, partner_id, status, created_at) "
                 "VALUES (:hrd, :partner, 'active', :at)",
           hrd=person_id(chat, "Amina"), partner=person_id(chat, "Pete"), at=chat.clock.now())
    await missed_checkin(chat)
    chat.expect("paul", r"ALERT #1")
    assert all("ALERT" not in m.text for m in chat.unread("pete"))
    chat.expect("cora", TOLD + r".*a match\b")


async def test_changes_through_the_bot_keep_working(chat: Chat) -> None:
    await trio(chat)
    sealed(chat)
    await chat.say("paul", "/help", chat_id="paul-new-chat")  # a legitimate new chat
    await chat.say("cora", "/unmatch Amina Paul")
    chat.expect("cora", r"Unmatched")
    await chat.say("cora", "/match Amina Paul")
    await chat.press("paul-new-chat", "Accept")
    await missed_checkin(chat)
    chat.expect("paul-new-chat", r"ALERT")
    assert all(TOLD not in m.text for m in chat.unread("cora"))
    assert refusals(chat) == []


async def test_rotation_re_macs_every_row_but_never_a_refused_one(chat: Chat) -> None:
    from c2p_bot.core.crypto import Kek
    from c2p_bot.core.keyring import VERIFIER, Keyring
    from c2p_bot.rotation import rotate

    await trio(chat)
    sealed(chat)
    tamper(chat, "UPDATE identity SET chat_id = 'mallory' WHERE platform_user_id = 'paul'")
    with Session(chat.core.engine) as session:  # the fixture's keyring skipped open_keyring's verifier
        session.add(Secret(name=VERIFIER, blob=chat.core.keyring.kek.make_verifier(), updated_at=chat.clock.now()))
        session.commit()
    new = Kek.generate()
    rotate(chat.core.engine, chat.core.keyring.kek, new, chat.clock.now(), None)
    fresh = Keyring(chat.core.engine, new)  # what the restarted bot opens
    fresh.integrity.clock = chat.clock.now
    chat.core.keyring = chat.core.outbox.protector = fresh
    await chat.say("amina", "/panic")
    chat.expect("cora", r"PANIC")
    chat.expect_nothing("mallory")  # still refused under the new key
    assert len(refusals(chat)) == 1
