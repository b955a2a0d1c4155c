"""Exchange between a defender and their partner (issue 16): /say relays messages pseudonymously and
leaves nothing behind; /action records what a partner did in the case log; the contact tracker
nudges a pair that exchanged nothing for ``[matching] contact_nudge``.

Transcripts on SQLite and PostgreSQL, with a fake clock; check-ins are due every 1000 days here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import LargeBinary, String, select
from sqlmodel import Session, SQLModel
from sqlmodel import select as select_model

from c2p_bot.config import Config, parse_config
from c2p_bot.core.events import Incoming
from storage.models import OutboxMessage
from tests.support import people
from tests.support.durations import DAY, MINUTE
from tests.support.transcript import Chat

SECRET = "the hearing moved to Friday"


@pytest.fixture
def config() -> Config:
    return parse_config({"checkins": {"interval": "1000d"}}, env={})


def stored_anywhere(chat: Chat, text: str) -> list[str]:
    """Every column of every row that holds ``text`` in clear."""
    hits = []
    with chat.core.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | LargeBinary)]
            for row in connection.execute(select(*columns)).all() if columns else []:
                for column, value in zip(columns, row, strict=True):
                    if (isinstance(value, str) and text in value) or (
                            isinstance(value, bytes) and text.encode() in value):
                        hits.append(f"{table.name}.{column.name}")
    return hits


def relay_bodies(chat: Chat) -> list[bytes]:
    with Session(chat.core.engine) as session:
        return [row.body for row in session.exec(select_model(OutboxMessage).where(OutboxMessage.kind == "relay"))]


async def test_say_relays_between_a_matched_pair_only_and_leaves_nothing_behind(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, "hrd-7781", alias="Amina")
    await people.partner(chat, "partner-4410", alias="Paul")
    await people.hrd(chat, "bibi")
    await chat.say("cora", "/match Amina Paul")
    await chat.press("partner-4410", "Accept")
    for user in ("cora", "hrd-7781", "partner-4410", "bibi"):
        chat.skip(user)

    # Sealed while it waits, gone once delivered.
    await chat.runtime.handle(Incoming(platform="memory", sender_id="hrd-7781", chat_id="hrd-7781",
                                       text=f"/say Paul I am safe, {SECRET}", event_id="say-1"))
    assert stored_anywhere(chat, SECRET) == []
    assert [len(body) > 0 for body in relay_bodies(chat)] == [True]
    await chat.runtime.drain()
    chat.expect("hrd-7781", r"^Sent to Paul\.$")
    message = chat.expect("partner-4410", rf"^Message from Amina:\nI am safe, {SECRET}\n\nAnswer with /say Amina "
                                          r"your message$")
    assert message.buttons == []
    assert "hrd-7781" not in message.text
    assert relay_bodies(chat) == [b""]
    assert stored_anywhere(chat, SECRET) == []

    await chat.say("partner-4410", "/say amina Glad to hear it.\nSee you on Friday.")
    chat.expect("partner-4410", r"Sent to Amina\.")
    message = chat.expect("hrd-7781", r"^Message from Paul:\nGlad to hear it\.\nSee you on Friday\.\n\nAnswer with "
                                      r"/say Paul your message$")
    assert "partner-4410" not in message.text

    # Only a matched pair: anyone else gets the same kind answer, which names only their own partners.
    await chat.say("partner-4410", "/say Bibi hello")
    refusal = chat.expect("partner-4410", r"I can pass messages only between a defender and their partners\. You can "
                                          r"write to: Amina\. For example: /say Amina I am safe")
    await chat.say("partner-4410", "/say Zed hello")
    assert chat.expect("partner-4410", r"I can pass messages").text == refusal.text
    await chat.say("bibi", "/say Paul hello")
    chat.expect("bibi", r"I can pass messages only between a defender and their partners, and you are not matched "
                        r"with anyone yet\.")
    await chat.say("cora", "/say Amina hello")
    chat.expect("cora", r"Sorry, I don't know that command")
    await chat.say("hrd-7781", "/say Paul")
    chat.expect("hrd-7781", r"Write your message after the name, for example: /say Paul I am safe")
    await chat.say("hrd-7781", "/say Paul " + "x" * 2001)
    chat.expect("hrd-7781", r"Your message is too long: at most 2000 characters\. Please send it in parts\.")
    for user in ("bibi", "cora"):
        chat.expect_nothing(user)


async def test_actions_go_to_the_case_log_or_the_open_alerts_logbook(chat: Chat) -> None:
    await people.trio(chat)
    await people.hrd(chat, "bibi")
    chat.skip("cora")
    await chat.say("paul", "/action Amina Parliamentary-Question asked the minister about her case")
    chat.expect("paul", r"^Recorded for Amina: parliamentary question\. It is in Amina's case log: /action Amina$")
    chat.expect("cora", r"^Paul recorded an action for Amina: parliamentary question\. Read it with /action Amina\.$")

    await chat.say("amina", "/panic")
    for user in ("amina", "paul", "cora"):
        chat.skip(user)
    await chat.say("paul", "/action amina lettre au ministre")  # the kind in French
    chat.expect("paul", r"Recorded for Amina: letter\. It is in the logbook of alert #1\.")
    chat.expect("cora", r"Paul recorded an action for Amina: letter\. Read it with /log 1\.")
    await chat.say("paul", "/log 1")
    chat.expect("paul", r"Logbook of alert #1:\n.*Paul: \[letter\] au ministre")
    await chat.say("paul", "/action Amina")
    log = chat.expect("paul", r"^Case log of Amina:\n.*Paul: \[parliamentary question\] asked the minister about her "
                              r"case\n.*Paul: \[letter\] au ministre \(alert #1\)\nTo record what you did, choose it "
                              r"below, or write for example: /action Amina letter wrote to the minister$")
    assert [label for row in log.buttons for label, _payload in row] == [
        "parliamentary question", "letter", "embassy contact", "visit", "trial observation", "statement", "other"]

    await chat.say("paul", "/action Amina tweet about her")
    chat.expect("paul", r"“tweet” is not a kind of action\. Choose one of: parliamentary question, letter, embassy "
                        r"contact, visit, trial observation, statement, other\. For example: /action Amina letter "
                        r"wrote to the minister")
    await chat.say("paul", "/action Bibi visit")  # not Paul's: the answer reveals nothing about Bibi
    refusal = chat.expect("paul", r"You can record actions only for the defenders you support: Amina\. For example: "
                                  r"/action Amina letter wrote to the minister")
    await chat.say("paul", "/action Zed visit")
    assert chat.expect("paul", r"You can record actions only").text == refusal.text

    await chat.say("paul", "/action")  # buttons all the way
    chat.expect("paul", r"Which defender is this about\?")
    await chat.press("paul", "Amina")
    chat.expect("paul", r"Case log of Amina:")
    await chat.press("paul", "^visit$")
    chat.expect("paul", r"Recorded for Amina: visit\. It is in the logbook of alert #1\.")
    chat.expect("cora", r"Paul recorded an action for Amina: visit")

    await chat.say("cora", "/action Bibi embassy contact called the embassy")  # coordinators, for anyone
    chat.expect("cora", r"Recorded for Bibi: embassy contact\. It is in Bibi's case log: /action Bibi")
    await chat.say("cora", "/action Zed visit")
    chat.expect("cora", r"I don't know an active defender called “Zed”\.\nFor example: /action Amina letter wrote to "
                        r"the minister")
    await chat.say("amina", "/action Amina visit")
    chat.expect("amina", r"Sorry, I don't know that command")
    chat.expect_nothing("bibi")


async def test_a_pair_out_of_touch_is_nudged_once_per_lapse(chat: Chat) -> None:
    await people.trio(chat)
    chat.clock.advance(30 * DAY - MINUTE)
    await chat.tick()
    chat.expect_nothing("amina")
    chat.expect_nothing("paul")
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    chat.expect("amina", r"^You and Paul have not exchanged anything through me for 30 days\. You can write to them "
                         r"here: /say Paul your message$")
    chat.expect("paul", r"^You and Amina have not been in touch through me for 30 days\. Send them a word with /say "
                        r"Amina your message, or record what you did for them with /action Amina$")
    chat.clock.advance(10 * DAY)
    await chat.tick()  # once per lapse
    chat.expect_nothing("amina")
    chat.expect_nothing("paul")

    await chat.say("amina", "/say Paul all well")  # contact: the clock starts again
    chat.skip("amina")
    chat.skip("paul")
    chat.clock.advance(30 * DAY - MINUTE)
    await chat.tick()
    chat.expect_nothing("paul")
    await chat.say("paul", "/action Amina visit")  # so does a partner's action
    chat.skip("paul")
    chat.expect("cora", r"Paul recorded an action for Amina: visit")
    chat.clock.advance(30 * DAY - MINUTE)
    await chat.tick()
    chat.expect_nothing("amina")
    chat.expect_nothing("paul")
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    chat.expect("amina", r"You and Paul have not exchanged anything through me for 30 days")
    chat.expect("paul", r"You and Amina have not been in touch through me for 30 days")
    chat.expect_nothing("cora")
