"""Email as an escalation channel (issue 16): addresses confirmed by a code, ``… by email after``
steps, and what an email carries — against a real SMTP server on 127.0.0.1 (aiosmtpd), on SQLite
and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select, text

from c2p_bot.config import Config, parse_config
from storage.models import EmailAddress, OutboxMessage
from tests.support.people import trio
from tests.support.smtp import SmtpServer, confirm_email, email_config
from tests.support.transcript import Chat

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
PAUL, CORA = "paul@example.org", "cora@example.org"
CANARY = "CANARY-0e7b-safehouse"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def config(smtp: SmtpServer) -> Config:
    return email_config(smtp)


async def missed_with_canary(chat: Chat) -> None:
    """Amina checks in with a note, then misses her next check-in: alert #1 reaches Paul in the chat."""
    await chat.say("amina", f"/checkin {CANARY}")
    chat.skip("amina")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", rf"ALERT #1: Amina missed a check-in.*{CANARY}")


async def test_an_address_is_used_only_once_confirmed_by_the_code_sent_to_it(
        chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    await chat.say("paul", "/profile email=paul(at)example")
    chat.expect("paul", r"Nothing was changed: email is not valid\. “paul\(at\)example” is not an email address\. "
                        r"Write it like /profile email=name@example\.org")
    await chat.say("paul", f"/profile email={PAUL}")
    chat.expect("paul", rf"Saved: email\.\nI sent a code to {PAUL}\. Send /email confirm CODE with it within an hour")
    mail = smtp.expect(PAUL, r"^Your confirmation code: \d{6}$", r"/email confirm \d{6}.*not used until")
    code = re.findall(r"\d{6}", mail.subject)[0]
    await chat.say("paul", "/profile")
    chat.expect("paul", rf"email: {PAUL} \(waiting for its code: /email confirm CODE\)")
    wrong = "000000" if code != "000000" else "111111"
    await chat.say("paul", f"/email confirm {wrong}")
    chat.expect("paul", rf"That code is not right\. Look for the six digits in the email sent to {PAUL}")
    await chat.say("paul", "/email confirm")
    chat.expect("paul", r"Send /email confirm CODE with the six digits from the email")
    await chat.say("paul", f"/email confirm {code}")
    chat.expect("paul", rf"Your email address {PAUL} is confirmed\..*never notes or plans")
    await chat.say("paul", "/email")
    chat.expect("paul", rf"Your email address: {PAUL} \(confirmed\)")
    # An HRD has no email field; removing the partner's address stops its use.
    await chat.say("amina", "/profile email=amina@example.org")
    chat.expect("amina", r"I can't change email\. Fields you can set: alias")
    await chat.say("paul", "/profile email=")
    chat.expect("paul", r"Saved: email\.\nYour email address is removed: alerts reach you only in the chat")
    with Session(chat.core.engine) as session:
        assert session.exec(select(EmailAddress)).all() == []
        assert session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == PAUL)).all() == []


async def test_too_many_wrong_codes_drop_the_address_and_an_old_code_expires(chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    await chat.say("paul", f"/profile email={PAUL}")
    chat.skip("paul")
    code = smtp.code_for(PAUL)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        await chat.say("paul", f"/email {wrong}")
        chat.expect("paul", r"That code is not right")
    await chat.say("paul", f"/email {wrong}")
    chat.expect("paul", rf"Too many wrong codes: {PAUL} is removed\. Send /profile email={PAUL} to start again")
    await chat.say("paul", f"/email confirm {code}")
    chat.expect("paul", r"No email address is waiting for a code")
    await chat.say("paul", f"/profile email={PAUL}")
    chat.skip("paul")
    code = smtp.code_for(PAUL)
    chat.clock.advance(HOUR + MINUTE)
    await chat.say("paul", f"/email confirm {code}")
    chat.expect("paul", rf"That code has expired\. Send /profile email={PAUL} again for a new one")


async def test_a_confirmed_partner_is_emailed_after_the_delay_without_note_or_plan(
        chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    await confirm_email(chat, smtp, "paul", PAUL)
    await chat.say("cora", f"/profile email={CORA}")  # never confirmed: never used for alerts
    chat.skip("cora")
    smtp.code_for(CORA)
    await missed_with_canary(chat)
    chat.clock.advance(9 * MINUTE)
    await chat.tick()
    smtp.expect_nothing(PAUL)
    chat.clock.advance(MINUTE)  # "partners by email after 10m"
    await chat.tick()
    mail = smtp.expect(PAUL, r"^Alert #1 about Amina: please open your chat with the bot$",
                       r"^🚨 ALERT #1: Amina missed a check-in due 2026-03-02 09:00 GMT \(09:00 UTC\)\.\n\n"
                       r"Open your chat with the bot and send /ack 1 to acknowledge it\.")
    assert mail.headers["From"] == "alerts@c2p.test" and mail.headers["Auto-Submitted"] == "auto-generated"
    chat.expect_nothing("paul")  # the email step adds no chat message
    chat.expect_nothing("cora")
    chat.clock.advance(15 * MINUTE - MINUTE)
    await chat.tick()
    chat.expect_nothing("cora")
    chat.clock.advance(MINUTE)  # ack_timeout after the email step: the coordinators, in the chat only
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed a check-in")
    smtp.expect_nothing(CORA)
    for sent in smtp.received:
        assert CANARY.encode() not in sent.raw and CANARY not in sent.body
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"You acknowledged alert #1")
    chat.clock.advance(DAY)
    await chat.tick()
    smtp.expect_nothing(PAUL)  # one email per step: reminders and the expired acknowledgement stay in the chat


async def test_an_email_is_in_the_readers_language_and_panic_emails_at_once(chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    await confirm_email(chat, smtp, "paul", PAUL)
    await chat.say("paul", "/profile language=fr")
    chat.skip("paul")
    await chat.say("amina", f"/panic {CANARY}")
    chat.skip("amina")
    chat.expect("paul", rf"ALERTE.*#1.*{CANARY}")
    mail = smtp.expect(PAUL, r"^Alerte #1 concernant Amina", r"/ack 1")
    assert CANARY not in mail.body and "Open your chat" not in mail.body


async def test_forget_erases_the_address_and_every_email_to_it(chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    await confirm_email(chat, smtp, "paul", PAUL)
    await chat.say("paul", "/forget confirm")
    chat.skip("paul")
    with Session(chat.core.engine) as session:
        assert session.exec(select(EmailAddress)).all() == []
        assert session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == PAUL)).all() == []


async def test_an_address_changed_in_the_database_is_never_written_to(chat: Chat, smtp: SmtpServer) -> None:
    chat.core.keyring.integrity.clock = chat.clock.now
    await trio(chat)
    await confirm_email(chat, smtp, "paul", PAUL)
    with Session(chat.core.engine) as session:
        session.execute(text("UPDATE email_address SET address = 'thief@example.org'"))
        session.commit()
    await missed_with_canary(chat)
    chat.clock.advance(10 * MINUTE)
    await chat.tick()
    assert smtp.to("thief@example.org") == [] and smtp.to(PAUL)[1:] == []
    chat.expect("cora", r"Integrity check failed: an email address", skipping=True)


async def test_without_an_email_transport_the_profile_says_so(db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    from storage.engine import make_engine
    from tests.support.transcript import memory_chat

    engine = make_engine(db_url)
    chat = memory_chat(engine, parse_config({}, env={}), clock)
    await trio(chat)
    await chat.say("paul", f"/profile email={PAUL}")
    chat.expect("paul", r"Nothing was changed: email is not set up on this bot, so alerts reach you only in the chat")
    await chat.say("paul", "/email")
    chat.expect("paul", r"^Email is not set up on this bot.*\nYou have no email address")
    engine.dispose()
